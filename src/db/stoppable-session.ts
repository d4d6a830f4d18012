import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import type { Database, Db } from './database.ts';
import * as schema from './schema.ts';

export interface Session {
  db: Db;
  /** PostgreSQL only: the session's own connection. */
  client: pg.PoolClient | undefined;
  discard(err: Error): void;
}

/** How often a stop re-sends its cancel while the job has not ended (one may land between statements). */
const CANCEL_EVERY_MS = 250;

/**
 * Runs a long background job (retention, the stats seal) on a connection of its own, so that its
 * stop need not wait for the statement under way: when `signal` aborts, that statement is cancelled
 * (`pg_cancel_backend` from another connection; it fails with 57014 and its transaction rolls back).
 * The job itself must check the signal between statements. `fn` also gets the raw client, for
 * session-level work such as an advisory lock, and `discard` for a connection that must not go
 * back to the pool (one whose unlock failed).
 *
 * PGlite runs a statement inside this process and cannot be interrupted: there the job gets the one
 * database and stops at its next check of the signal, after the statement under way.
 */
export async function withStoppableSession<T>(
  database: Database,
  signal: AbortSignal | undefined,
  fn: (session: Session) => Promise<T>,
): Promise<T> {
  if (database.engine === 'pglite') return fn({ db: database.db, client: undefined, discard: () => {} });
  const pool = (database.db as unknown as { $client: pg.Pool }).$client;
  const client = await pool.connect();
  let broken: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  const cancel = () => {
    // Sent on a pool connection: the session's own is busy with the statement to cancel.
    pool
      .query('select pg_cancel_backend($1)', [(client as unknown as { processID: number }).processID])
      .catch(() => {});
    timer = setTimeout(cancel, CANCEL_EVERY_MS);
  };
  if (signal?.aborted) cancel();
  else signal?.addEventListener('abort', cancel, { once: true });
  try {
    const db = drizzle(client, { schema }) as unknown as Db;
    return await fn({ db, client, discard: (err) => (broken = err) });
  } catch (err) {
    // A cancel may have landed on a rollback or an unlock: the connection is not reused.
    if (signal?.aborted) broken = err as Error;
    throw err;
  } finally {
    signal?.removeEventListener('abort', cancel);
    clearTimeout(timer);
    client.release(broken);
  }
}

/** Whether `err` is the job's own stop: the signal's reason, or a statement cancelled after it aborted. */
export function stoppedBy(err: unknown, signal: AbortSignal | undefined): boolean {
  if (!signal?.aborted) return false;
  // Through causes: drizzle wraps the driver's error, a timer's AbortError wraps the reason.
  for (let e: unknown = err; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
    if (e === signal.reason || (e as { code?: string }).code === '57014') return true;
  }
  return false;
}
