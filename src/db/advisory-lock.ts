import type pg from 'pg';
import type { Database } from './database.ts';

/**
 * Runs `fn` while this process holds PostgreSQL's session advisory lock `key`, or returns
 * `{ acquired: false }` at once when another session holds it (with `wait`, waits for it instead): a long job made of many short
 * transactions (retention's batches) runs on one node at a time, and a node that dies mid-job lets
 * go of it with its connection. The lock is held on a pool connection of its own for the job's
 * length; the job's statements run on the others.
 *
 * PGlite is one session in one process, where an advisory lock would be granted again to the same
 * session: an in-process flag per database does the lock's job there.
 */
export async function withSessionAdvisoryLock<T>(
  database: Database,
  key: number,
  fn: () => Promise<T>,
  opts: { wait?: boolean } = {},
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  if (database.engine === 'pglite') {
    const held = embeddedHeld.get(database) ?? new Set<number>();
    embeddedHeld.set(database, held);
    if (held.has(key)) return { acquired: false };
    held.add(key);
    try {
      return { acquired: true, value: await fn() };
    } finally {
      held.delete(key);
    }
  }
  const pool = (database.db as unknown as { $client: pg.Pool }).$client;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      opts.wait ? 'select true as ok from pg_advisory_lock($1)' : 'select pg_try_advisory_lock($1) as ok',
      [key],
    );
    if (rows[0]?.ok !== true) return { acquired: false };
    try {
      return { acquired: true, value: await fn() };
    } finally {
      await client.query('select pg_advisory_unlock($1)', [key]).catch((err: Error) => {
        // Unlocked or not, a connection that failed here must not go back to the pool holding it.
        broken = err;
      });
    }
  } finally {
    client.release(broken);
  }
}

const embeddedHeld = new WeakMap<Database, Set<number>>();
