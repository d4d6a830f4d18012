import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';
import { TRANSITIONS } from './state-machine.ts';

/** One SMS's way from `sent` to `delivered`, as the routing's health window counts it. */
export interface DeliveredSms {
  /** The history row's id: the bookmark to read on from. */
  historyId: string;
  provider: string;
  sentMs: number;
  deliveredMs: number;
}

/** Where reading starts: the newest history row now (health is measured from the start on). */
export async function latestHistoryId(q: Queryable): Promise<string> {
  const [row] = await queryRows<{ id: string | null }>(
    q,
    sql`select max(id) as id from delivery_status_history`,
  );
  return String(row?.id ?? 0);
}

/**
 * SMS deliveries reported delivered after history row `afterId`, oldest first: read by the history's
 * primary key, so each poll costs what happened since the last one. A row committed out of id order
 * behind the bookmark is missed: one sample fewer in a health window, never a wrong one. A delivery
 * from before providers were stored counts as Twilio's.
 */
export async function deliveredSmsAfter(
  q: Queryable,
  afterId: string,
  limit: number,
): Promise<DeliveredSms[]> {
  const rows = await queryRows<{ id: string; provider: string; sent_ms: number; delivered_ms: number }>(
    q,
    sql`select h.id, coalesce(d.metadata -> 'sms' ->> 'provider', 'twilio') as provider,
               (extract(epoch from d.sent_at) * 1000)::float8 as sent_ms,
               (extract(epoch from h.created_at) * 1000)::float8 as delivered_ms
        from delivery_status_history h join deliveries d on d.id = h.delivery_id
        where h.id > ${afterId} and h.to_status = ${TRANSITIONS.provider_delivered.to}
          and d.channel = 'sms' and d.sent_at is not null
        order by h.id limit ${limit}`,
  );
  return rows.map((r) => ({
    historyId: String(r.id),
    provider: r.provider,
    sentMs: Number(r.sent_ms),
    deliveredMs: Number(r.delivered_ms),
  }));
}
