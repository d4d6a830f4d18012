import type { FastifyRequest } from 'fastify';
import { type ApiKeyIdentity, type ApiKeyRole, findApiKey } from '../auth/api-keys.ts';
import type { Queryable } from '../db/database.ts';
import { AppError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyIdentity;
  }
}

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function extractApiKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const alt = request.headers['x-api-key'];
  return typeof alt === 'string' ? alt.trim() : undefined;
}

/** A preHandler that admits the given roles (admin is admitted everywhere). */
export function requireApiKey(db: Queryable, roles: readonly ApiKeyRole[] = ['service']) {
  return async (request: FastifyRequest) => {
    const key = extractApiKey(request);
    if (!key) throw new AppError('UNAUTHORIZED', 'Send an API key as "Authorization: Bearer <key>"');
    const identity = await findApiKey(db, key);
    if (!identity) throw new AppError('UNAUTHORIZED', 'The API key is not valid');
    if (identity.role !== 'admin' && !roles.includes(identity.role)) {
      throw new AppError('FORBIDDEN', `This endpoint needs a key with role ${roles.join(' or ')}`);
    }
    request.apiKey = identity;
  };
}
