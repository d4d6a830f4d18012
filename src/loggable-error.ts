import { DrizzleQueryError } from 'drizzle-orm';
import { isDatabaseUnavailable } from './database-errors.ts';
import { AppError } from './errors.ts';

/**
 * What is logged about an error, anywhere (it is the logger's `err` serializer, logger.ts): only
 * fields that cannot carry the data the failed work handled.
 * Messages are left out because they can: a Drizzle query error's message (and so its stack) lists
 * the statement's parameters (phones, names, emails); a PostgreSQL message can quote the value it
 * refused (`invalid input syntax for type integer: "…"`) and its `detail` repeats the whole row
 * (`Failing row contains (…)`); PGlite's error even carries the parameters as a field. What is kept
 * still locates the fault: type, code (the SQLSTATE of a database error), the statement with its
 * `$1` placeholders (every statement is parameterised), the table, column or constraint, the stack
 * frames, and the same for its cause.
 */
export function loggableError(err: unknown, depth = 0): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const fields = err as Error & Partial<Record<'code' | 'table' | 'column' | 'constraint', unknown>>;
  const safe: Record<string, unknown> = { type: err.constructor.name };
  for (const key of ['code', 'table', 'column', 'constraint'] as const) {
    if (typeof fields[key] === 'string') safe[key] = fields[key];
  }
  // Our own detail, written for the client (e.g. NOT_READY's reason), so safe by construction; the
  // driver's own words for a lost connection ("Connection terminated unexpectedly") carry no data.
  if (err instanceof AppError) safe['detail'] = err.message;
  else if (!(err instanceof DrizzleQueryError) && isDatabaseUnavailable(err)) safe['detail'] = err.message;
  if (err instanceof DrizzleQueryError) safe['query'] = err.query;
  safe['stack'] = frames(err);
  // Bounded: a cause chain can loop.
  if (err.cause !== undefined && depth < 3) safe['cause'] = loggableError(err.cause, depth + 1);
  return safe;
}

/**
 * The stack without its header, which repeats the message. The message is cut out first, so a
 * value in it that looks like a frame ("\n    at …") cannot pass for one.
 */
function frames(err: Error): string {
  return (err.stack ?? '')
    .replace(err.message, '')
    .split('\n')
    .filter((line) => line.startsWith('    at '))
    .join('\n');
}
