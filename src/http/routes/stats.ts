import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Queryable } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { deliveryStats } from '../../stats/delivery-stats.ts';
import { deliveryStatsSchema } from '../../stats/stats-schema.ts';
import {
  STATS_WINDOWS,
  type StatsWindow,
  StatsWindowError,
  windowFromQuery,
} from '../../stats/stats-window.ts';
import { requireApiKey } from '../auth.ts';
import { text } from '../text.ts';

export const statsQuery = z
  .object({
    window: z.enum(STATS_WINDOWS).optional().describe('today (the default), 7d or 30d, in the zone `tz`'),
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Start of a custom window (ISO 8601, inclusive)'),
    to: z.iso.datetime({ offset: true }).optional().describe('End of a custom window (ISO 8601, exclusive)'),
    granularity: z
      .enum(['hour', 'day'])
      .optional()
      .describe('Bucket size of the time series; default hour up to 2 days, else day'),
    tz: text()
      .min(1)
      .max(64)
      .optional()
      .describe('IANA time zone of "today" and the buckets; default STATS_TIME_ZONE'),
  })
  .strict();

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
