import { sql } from 'drizzle-orm';
import { type Db, type Queryable, queryRows } from '../db/database.ts';
import { DELIVERIES_CHANNEL } from './enqueue.ts';
import { fromGuard, onlyFrom, TRANSITIONS } from './state-machine.ts';

/**
 * The digest's queue side (digest/digest-flusher.ts decides when, and what an item shows): email
 * deliveries of digest-priority notifications are created queued with no attempt time (held, never
 * claimed). Merging a user's held ones makes the newest the carrier (digest_release: due now, the
 * list in `details.digest_items`) and skips the others as `digested` (digest_merge), in one
 * transaction; the worker then sends the carrier like any delivery, so retries and history apply.
 */

const HELD = sql`${fromGuard(sql`d.status`, 'digest_release')} and d.next_attempt_at is null and d.channel = 'email'
  and n.priority = 'digest'`;
/** A scheduled one (send_at) joins a digest only once its time has come, and its wait counts from then. */
const ITEM_TIME = sql`coalesce(n.send_at, n.created_at)`;

/** A held digest delivery with the notification it carries. */
export interface HeldDigestRow {
  id: string;
  notification_id: string;
  type: string;
  title: string;
  message: string;
  context: Record<string, unknown>;
  created_at: string | Date;
}

/** Users whose oldest held digest notification was created (or scheduled) at or before `cutoff` (500 at most). */
export async function usersWithDueDigest(q: Queryable, cutoff: Date): Promise<number[]> {
  const due = await queryRows<{ user_id: string }>(
    q,
    sql`select n.user_id from deliveries d join notifications n on n.id = d.notification_id
        where ${HELD} group by n.user_id having min(${ITEM_TIME}) <= ${cutoff.toISOString()}::timestamptz limit 500`,
  );
  return due.map((r) => Number(r.user_id));
}

/**
 * Merge a user's held digest deliveries into one carrier whose `details.digest_items` is
 * `toItem` of each (oldest first), and wake the email workers. False when another process holds
 * them or none is left.
 */
export async function mergeUserDigest<Item>(
  db: Db,
  userId: number,
  toItem: (held: HeldDigestRow) => Promise<Item>,
  now: Date = new Date(),
): Promise<boolean> {
  return db.transaction(async (tx) => {
    // One merger per user across nodes: two flushes locking the same user's rows (skip locked) at
    // once could each take part of them and send two digests. The loser skips the user this round.
    const [mine] = await queryRows<{ ok: boolean }>(
      tx,
      sql`select pg_try_advisory_xact_lock(hashtextextended(${`digest:${userId}`}, 0)) as ok`,
    );
    if (mine?.ok !== true) return false;
    const held = await queryRows<HeldDigestRow>(
      tx,
      sql`select d.id, n.notification_id, n.type, n.title, n.message, n.context, n.created_at
          from deliveries d join notifications n on n.id = d.notification_id
          where n.user_id = ${userId} and ${HELD} and ${ITEM_TIME} <= ${now.toISOString()}::timestamptz
          order by d.id for update of d skip locked`,
    );
    const carrier = held.at(-1);
    if (!carrier) return false;
    const items = await Promise.all(held.map(toItem));
    // The carrier stays queued but is made due: the state machine's digest_release (queued → queued).
    await tx.execute(sql`update deliveries set status = ${TRANSITIONS.digest_release.to},
        next_attempt_at = now(), updated_at = now(),
        details = coalesce(details, '{}'::jsonb) || ${JSON.stringify({ digest_items: items })}::jsonb
      where id = ${carrier.id} and ${fromGuard(sql`status`, 'digest_release')}`);
    const others = held.slice(0, -1).map((h) => h.id);
    const reason = `Sent in one digest email with ${held.length - 1} other notification(s) (delivery ${carrier.id})`;
    if (others.length > 0) {
      await tx.execute(sql`with skipped as (
          update deliveries set status = ${TRANSITIONS.digest_merge.to}, skip_reason = 'digested',
                 error_message = ${reason}, updated_at = now()
          where id = any(${`{${others.join(',')}}`}::bigint[]) and ${fromGuard(sql`status`, 'digest_merge')}
          returning id)
        insert into delivery_status_history (delivery_id, from_status, to_status, detail)
        select id, ${onlyFrom('digest_merge')}, ${TRANSITIONS.digest_merge.to}, ${reason} from skipped`);
    }
    await tx.execute(sql`insert into delivery_status_history (delivery_id, from_status, to_status, detail)
      values (${carrier.id}, ${onlyFrom('digest_release')}, ${TRANSITIONS.digest_release.to},
              ${`digest of ${held.length} notification(s) due now`})`);
    await tx.execute(sql`select pg_notify(${DELIVERIES_CHANNEL}, 'email')`);
    return true;
  });
}

/** The items a carrier holds (what mergeUserDigest wrote), null for any other delivery. */
export async function digestItemsOf<Item>(q: Queryable, deliveryId: string): Promise<Item[] | null> {
  const [row] = await queryRows<{ items: Item[] | null }>(
    q,
    sql`select details -> 'digest_items' as items from deliveries where id = ${deliveryId}`,
  );
  return row?.items ?? null;
}
