import type { Database, Db } from './database.ts';
import { withStoppableSession } from './stoppable-session.ts';

/**
 * Runs `fn` while this process holds PostgreSQL's session advisory lock `key`, or returns
 * `{ acquired: false }` at once when another session holds it (with `wait`, waits for it instead): a long job made of many short
 * transactions (retention's batches) runs on one node at a time, and a node that dies mid-job lets
 * go of it with its connection. The lock is held on a connection of its own for the job's length,
 * which `fn` gets for its statements: a stop (`signal`) cancels the one under way there
 * (stoppable-session.ts).
 *
 * PGlite is one session in one process, where an advisory lock would be granted again to the same
 * session: an in-process flag per database does the lock's job there.
 */
export async function withSessionAdvisoryLock<T>(
  database: Database,
  key: number,
  fn: (db: Db) => Promise<T>,
  opts: { wait?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  if (database.engine === 'pglite') {
    const held = embeddedHeld.get(database) ?? new Set<number>();
    embeddedHeld.set(database, held);
    if (held.has(key)) return { acquired: false };
    held.add(key);
    try {
      return { acquired: true, value: await fn(database.db) };
    } finally {
      held.delete(key);
    }
  }
  return withStoppableSession(database, opts.signal, async ({ db, client, discard }) => {
    const { rows } = await client!.query<{ ok: boolean }>(
      opts.wait ? 'select true as ok from pg_advisory_lock($1)' : 'select pg_try_advisory_lock($1) as ok',
      [key],
    );
    if (rows[0]?.ok !== true) return { acquired: false };
    try {
      return { acquired: true, value: await fn(db) };
    } finally {
      // Unlocked or not, a connection that failed here must not go back to the pool holding it.
      await client!.query('select pg_advisory_unlock($1)', [key]).catch(discard);
    }
  });
}

const embeddedHeld = new WeakMap<Database, Set<number>>();
