import { sql } from 'drizzle-orm';
import type { ChannelName } from '../catalog/catalog.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { sqlInstant } from './sql-instant.ts';

/**
 * Deliveries that have sat in `sent` longer than `olderThanMs` (their provider's report never came,
 * or came before the worker wrote `sent`). Each row's `updated_at` is touched so concurrent sweeps
 * and the next round skip it for another interval. `now` as for claimDue (null: the database's).
 */
export async function takeStaleSent(
  q: Queryable,
  channel: ChannelName,
  /** Only this provider's (`metadata.<channel>.provider`; a delivery from before it was stored: `twilio`). */
  provider: string,
  olderThanMs: number,
  limit: number,
  now: Date | null = null,
): Promise<Array<{ id: string; providerMessageId: string }>> {
  const rows = await queryRows<{ id: string; provider_message_id: string }>(
    q,
    // Touched on the same clock the staleness is judged by, or a clock ahead of the database's
    // would find the rows it just took stale still, and take them again in the same round.
    sql`update deliveries d set updated_at = coalesce(${sqlInstant(now)}::timestamptz, now())
      where d.id in (
        select id from deliveries
        where status = 'sent' and channel = ${channel} and provider_message_id is not null
          and coalesce(metadata -> ${channel} ->> 'provider', 'twilio') = ${provider}
          and updated_at < coalesce(${sqlInstant(now)}::timestamptz, now()) - ${olderThanMs} * interval '1 millisecond'
        order by updated_at
        limit ${limit}
        for update skip locked
      )
      returning d.id, d.provider_message_id`,
  );
  return rows.map((r) => ({ id: String(r.id), providerMessageId: r.provider_message_id }));
}
