import { statfs } from 'node:fs/promises';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.ts';
import { migrationsCurrent } from '../../db/migrate.ts';
import { AppError } from '../../errors.ts';

/**
 * Liveness says the process answers; readiness says it can do its job (database up, schema current,
 * and on the embedded engine room on its disk to write).
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  database: Database,
  timeoutMs: number,
  minFreeBytes: number,
): void {
  // Liveness answers even while the service sheds load: a busy process is not a dead one, and
  // restarting it would only move its load elsewhere. Readiness does not: while overloaded it is a
  // 503, which takes the instance out of rotation until it has caught up.
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'Liveness' }, config: { answerWhenOverloaded: true } },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: database reachable, migrations current, room to write (embedded)',
      },
    },
    async () => {
      // A database that accepts connections and never answers must fail the probe, not hang it:
      // the answer is bounded whatever the pool's own timeouts are.
      const check = async () => {
        await database.db.execute(sql`select 1`);
        return migrationsCurrent(database);
      };
      let current: boolean;
      try {
        current = await withDeadline(check(), timeoutMs);
      } catch {
        throw new AppError('NOT_READY', 'The database is not reachable');
      }
      if (!current) throw new AppError('NOT_READY', 'Database migrations are not current');
      // A full disk still answers `select 1`, while every write fails: the instance must leave
      // rotation until space is freed. PGlite writes to a local directory whose free space we can
      // see; a PostgreSQL server's disk is its own (its writes answer STORAGE_FULL, error-handler.ts).
      if (database.dataDir !== undefined) {
        const free = await freeBytes(database.dataDir);
        if (free < minFreeBytes) {
          throw new AppError(
            'STORAGE_FULL',
            `The data directory's disk has ${(free / 2 ** 20).toFixed(1)} MiB free, under the ${(minFreeBytes / 2 ** 20).toFixed(0)} MiB it needs`,
          );
        }
      }
      return { status: 'ready', engine: database.engine };
    },
  );
}

/** Bytes an unprivileged process may still write on the filesystem that holds `dir`. */
async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** `work`, or a rejection once `ms` have passed (the work itself is left to its own timeouts). */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  work.catch(() => {}); // a late failure after the deadline is not an unhandled rejection
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
