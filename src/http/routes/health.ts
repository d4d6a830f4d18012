import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.ts';
import { migrationsCurrent } from '../../db/migrate.ts';
import { AppError } from '../../errors.ts';

/** Liveness says the process answers; readiness says it can do its job (database up, schema current). */
export function registerHealthRoutes(app: FastifyInstance, database: Database): void {
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
    { schema: { tags: ['health'], summary: 'Readiness: database reachable, migrations current' } },
    async () => {
      try {
        await database.db.execute(sql`select 1`);
      } catch {
        throw new AppError('NOT_READY', 'The database is not reachable');
      }
      if (!(await migrationsCurrent(database)))
        throw new AppError('NOT_READY', 'Database migrations are not current');
      return { status: 'ready', engine: database.engine };
    },
  );
}
