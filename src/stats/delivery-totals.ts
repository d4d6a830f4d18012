/**
 * Every delivery in the database by channel × status × provider, now: the deliveries gauge of
 * GET /metrics (docs/metrics.md). All of time is one window of the rollup (stats-rollup.ts): sealed
 * slots are summed from their rollup rows, the rest (the last hours, dirty slots) counted from the
 * rows through `deliveries (created_at)`, so a scrape costs the rollup's size, not the table's.
 */
import { sql } from 'drizzle-orm';
import type { ChannelName } from '../catalog/catalog.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { covered, DELIVERY_PROVIDER, rollupCover, uncovered } from './stats-rollup.ts';
import type { StatsWindow } from './stats-window.ts';

export interface DeliveryTotal {
  channel: ChannelName;
  status: string;
  /** twilio or vonage for an SMS a provider was asked for; null otherwise. */
  provider: string | null;
  count: number;
}

/** From before any delivery to far after any: the rollup's cover of it is every sealed slot. */
const ALL_TIME: StatsWindow = {
  from: new Date('1970-01-01T00:00:00Z'),
  to: new Date('9999-01-01T00:00:00Z'),
  granularity: 'day',
  timeZone: 'UTC',
};

export async function deliveryTotals(q: Queryable): Promise<DeliveryTotal[]> {
  const cover = await rollupCover(q, ALL_TIME);
  return queryRows<DeliveryTotal>(
    q,
    sql`select channel, status, provider, sum(n)::int as count from (
          select d.channel, d.status, ${DELIVERY_PROVIDER} as provider, count(*) as n
          from ${uncovered('deliveries', ALL_TIME, cover)} d group by 1, 2, 3
          union all
          select r.channel, r.status, r.provider, sum(r.n) as n
          from ${covered('stats_delivery_slots', cover)} r group by 1, 2, 3
        ) x group by 1, 2, 3 order by 1, 2, 3`,
  );
}
