import { sql } from 'drizzle-orm';
import { SKIP_REASONS } from '../channels/delivery-errors.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { fromGuard, onlyFrom, TRANSITIONS } from './state-machine.ts';

const BY = SKIP_REASONS.superseded.message.replace('{notification}', '');

/**
 * Collapse (issue 18): the still-queued deliveries of every older notification with the same
 * user, type and collapse key as one of `newer` (public ids, just stored) end `skipped`,
 * `superseded` (the state machine's supersede), with a history row naming the notification that
 * replaced each: the next newer one of its key, so a batch of three reads as three creates in a
 * row. Run in the transaction that stored `newer`, under its (user, type) lock
 * (notifications/store-with-rules.ts): a concurrent create of the same key waits, and then sees
 * this one. A delivery already claimed (sending) or sent is left alone, and so is a queued one
 * whose last attempt's outcome is unknown: that message may have reached the user, and its lookup
 * decides. Returns the ids of the deliveries skipped.
 */
export async function supersedeDeliveries(tx: Queryable, newer: readonly string[]): Promise<string[]> {
  if (newer.length === 0) return [];
  const rows = await queryRows<{ id: string }>(
    tx,
    sql`with newer as (
        select id, notification_id, user_id, type, collapse_key from notifications
        where notification_id = any(${`{${newer.join(',')}}`}::text[]) and collapse_key is not null
      ), older as (
        select o.id, s.notification_id as by
        from notifications o
        cross join lateral (
          select m.notification_id from newer m
          where m.user_id = o.user_id and m.type = o.type and m.collapse_key = o.collapse_key and m.id > o.id
          order by m.id limit 1) s
        where o.collapse_key is not null
          and (o.user_id, o.type, o.collapse_key) in (select user_id, type, collapse_key from newer)
      ), skipped as (
        update deliveries d
        set status = ${TRANSITIONS.supersede.to}, skip_reason = 'superseded',
            error_message = ${BY} || older.by, next_attempt_at = null, updated_at = now()
        from older
        where d.notification_id = older.id and ${fromGuard(sql`d.status`, 'supersede')}
          and not coalesce((d.details ->> 'outcome_unknown')::boolean, false)
        returning d.id, d.error_message
      ), history as (
        insert into delivery_status_history (delivery_id, from_status, to_status, detail)
        select id, ${onlyFrom('supersede')}, ${TRANSITIONS.supersede.to}, error_message from skipped
      )
      select id from skipped`,
  );
  return rows.map((r) => String(r.id));
}
