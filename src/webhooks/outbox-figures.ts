import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';

export interface OutboxDepth {
  state: 'pending' | 'failed';
  messages: number;
  /** How long the oldest due message (not leased by a live send) has waited past its due time. */
  oldestDueAgeMs: number | null;
}

/**
 * The webhook messages still to send, by state, from the outbox's partial due index (rows delivered
 * or given up are not read: that part of the table only grows until retention).
 */
export async function outboxDepth(q: Queryable, now: Date): Promise<OutboxDepth[]> {
  const at = sql`${now.toISOString()}::timestamptz`;
  const rows = await queryRows<{ state: 'pending' | 'failed'; messages: number; oldest_ms: number | null }>(
    q,
    sql`select state, count(*)::int as messages,
               (extract(epoch from ${at} - min(next_attempt_at) filter (
                  where next_attempt_at <= ${at} and (lease_until is null or lease_until < ${at}))) * 1000)::float8 as oldest_ms
        from webhook_outbox where state in ('pending', 'failed') group by state`,
  );
  return rows.map((r) => ({ state: r.state, messages: r.messages, oldestDueAgeMs: r.oldest_ms }));
}
