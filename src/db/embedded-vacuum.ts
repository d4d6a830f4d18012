import { sql } from 'drizzle-orm';
import type { Logger } from '../logger.ts';
import type { Database } from './database.ts';

/**
 * PGlite runs PostgreSQL in single-user mode, where autovacuum never runs: every update leaves its
 * dead row version behind for good. A delivery row is rewritten 4–6 times on its way to
 * `delivered`, so the queue table and its indexes would grow without bound and the planner's
 * statistics would stay those of an empty database. This does autovacuum's job on a timer, for the
 * tables the hot path rewrites (PostgreSQL proper has its own autovacuum; this is embedded only).
 */
const VACUUM_HOT_TABLES = sql`vacuum (analyze) deliveries, notifications, delivery_status_history,
  idempotency_keys, sms_send_rate`;

/** One pass; VACUUM skips pages already all-visible, so a pass over quiet tables is cheap. */
export async function vacuumHotTables(database: Database): Promise<void> {
  await database.db.execute(VACUUM_HOT_TABLES);
}

/** Starts the periodic pass; the returned function stops it and waits for a pass in progress. */
export function startEmbeddedVacuum(
  database: Database,
  intervalMs: number,
  logger: Logger,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= vacuumHotTables(database)
      .catch((err) => logger.warn({ err }, 'embedded vacuum failed; will retry'))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
