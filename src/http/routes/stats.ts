import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Queryable } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { deliveryStats } from '../../stats/delivery-stats.ts';
import { deliveryStatsSchema } from '../../stats/stats-schema.ts';
import { type StatsWindow, StatsWindowError, statsQuery, windowFromQuery } from '../../stats/stats-window.ts';
import { requireApiKey } from '../auth.ts';

/**
 * The delivery figures without a browser (docs/stats.md): what the console and the `stats` command
 * show. Admin and viewer keys: it changes nothing.
 */
export function registerStatsRoutes(app: FastifyInstance, deps: { db: Queryable; timeZone: string }): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/stats',
    {
      schema: {
        tags: ['stats'],
        summary: 'Delivery stats for a window: per channel, cost, error codes, types, time series, queue',
        querystring: statsQuery,
        response: { 200: deliveryStatsSchema },
      },
      onRequest: requireApiKey(deps.db, ['viewer']),
    },
    async (request) => {
      const at = new Date();
      let window: StatsWindow;
      try {
        window = windowFromQuery(request.query, deps.timeZone, at);
      } catch (err) {
        if (err instanceof StatsWindowError) throw new AppError('VALIDATION_FAILED', err.message);
        throw err;
      }
      return deliveryStats(deps.db, window, at);
    },
  );
}
