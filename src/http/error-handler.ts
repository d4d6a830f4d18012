import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isDatabaseUnavailable, isStorageFull } from '../database-errors.ts';
import { AppError, problemBody } from '../errors.ts';

/**
 * One error shape for every response: problem+json with a stable `code`. Unknown errors become a
 * bare 500 (logged without their message, see loggable-error.ts; never sent), so internals never leak to
 * clients and the request's personal data never reaches the log.
 */
export function toAppError(err: FastifyError | Error): AppError {
  if (err instanceof AppError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const context = err.validationContext ?? 'body';
    const errors = err.validation.flatMap((v) => {
      const path = v.instancePath.split('/').filter(Boolean);
      // An unknown key is reported on its parent object; name the key itself instead.
      const keys = v.keyword === 'unrecognized_keys' ? (v.params['keys'] as string[]) : [undefined];
      return keys.map((key) => ({
        field: [context, ...path, ...(key === undefined ? [] : [key])].join('.'),
        message: key === undefined ? v.message : 'is not a known field',
      }));
    });
    const summary = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return new AppError('VALIDATION_FAILED', summary, { errors });
  }
  const code = (err as FastifyError).code;
  const status = (err as FastifyError).statusCode;
  if (
    code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    err instanceof SyntaxError
  ) {
    return new AppError('MALFORMED_JSON', 'The request body is not valid JSON');
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('PAYLOAD_TOO_LARGE', err.message);
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError('UNSUPPORTED_MEDIA_TYPE', err.message);
  if (status === 429) return new AppError('RATE_LIMITED', err.message);
  if ((err as FastifyError).validation) return new AppError('VALIDATION_FAILED', err.message);
  if (status === 404) return new AppError('NOT_FOUND', err.message);
  if (status && status >= 400 && status < 500) return new AppError('VALIDATION_FAILED', err.message);
  if (isDatabaseUnavailable(err)) {
    return new AppError('DATABASE_UNAVAILABLE', 'The database cannot be reached just now; retry the request');
  }
  if (isStorageFull(err)) {
    return new AppError(
      'STORAGE_FULL',
      'The database has no disk space left to write; retry once space is freed',
    );
  }
  if (UNSTORABLE_TEXT.has(String(sqlState(err)))) {
    return new AppError('VALIDATION_FAILED', 'A value holds a character the database cannot store (U+0000)');
  }
  return new AppError('INTERNAL', 'An internal error occurred; it has been logged');
}

/**
 * PostgreSQL refusing text it cannot store: 22021 (NUL in text), 22P05 (NUL in a jsonb string).
 * The schemas refuse NUL (text.ts); one that reaches the database another way is still the
 * request's fault, so a 400, not a 500.
 */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

const DATABASE_RETRY_AFTER_S = '2';
// A full disk is freed by an operator (or a cleanup job), not by a restart: minutes, not seconds.
const STORAGE_RETRY_AFTER_S = '30';

/** The SQLSTATE of a failed query: Drizzle wraps the driver's error, which carries it as `code`. */
function sqlState(err: Error): unknown {
  return (err.cause as { code?: unknown } | undefined)?.code;
}

export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const appError = toAppError(err);
  // Shedding load is a choice, not a fault; a log line per refused request would add work exactly
  // when there is none to spare.
  if (appError.status >= 500 && appError.code !== 'SERVICE_OVERLOADED') {
    request.log.error(
      {
        code: appError.code,
        method: request.method,
        route: request.routeOptions.url,
        err,
      },
      'request failed',
    );
  }
  // A restart or failover takes seconds; the request is safe to repeat as it is (with its
  // Idempotency-Key, if it has one).
  if (appError.code === 'DATABASE_UNAVAILABLE') reply.header('retry-after', DATABASE_RETRY_AFTER_S);
  if (appError.code === 'STORAGE_FULL') reply.header('retry-after', STORAGE_RETRY_AFTER_S);
  const headers = reply.getHeaders();
  void reply
    .code(appError.status)
    .headers(headers)
    .type('application/problem+json')
    .send(problemBody(appError, request.url));
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply
    .code(404)
    .type('application/problem+json')
    .send(problemBody(new AppError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`)));
}
