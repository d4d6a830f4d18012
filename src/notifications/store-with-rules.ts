import { sql } from 'drizzle-orm';
import { getNotificationType, type NotificationTypeDef } from '../catalog/catalog.ts';
import { SKIP_REASONS } from '../channels/delivery-errors.ts';
import type { Queryable } from '../db/database.ts';
import {
  type InsertedNotification,
  insertNotifications,
  type NewDelivery,
  type NotificationToInsert,
} from '../deliveries/enqueue.ts';
import { supersedeDeliveries } from '../deliveries/supersede-deliveries.ts';
import { throttleWindowHolders, type WindowHolder } from '../deliveries/throttle-windows.ts';

/*
 * Collapse and throttle (issue 18, catalog/delivery-rules.ts) where a notification is stored.
 *
 * - Collapse: a type with a `collapseKey` stores the key's value from the context; storing a newer
 *   one of the same user, type and key supersedes the older ones' still-queued deliveries
 *   (deliveries/supersede-deliveries.ts), in the same transaction as the insert.
 * - Throttle: a type with `throttleMinutes` sends at most one per user per window; a later one in
 *   the window is stored with every delivery skipped, `throttled`, naming the notification that
 *   holds the window and when it ends. One read for all the call's items; an earlier item of the
 *   same call counts as a stored one would.
 *
 * Concurrent creates are serialized: with either rule in a call, the insert runs in a transaction
 * that first takes an advisory lock per (user, type) of those items (lc_lock_keys, sorted so
 * overlapping batches cannot deadlock). Without it two creates at once would each read "no window
 * holder" and "nothing older to supersede" and both send; with it the second waits for the first
 * to commit, then sees it. The throttle is therefore read inside that transaction, not with the
 * other reads before it. Calls without these types keep the one-statement insert (no transaction,
 * no lock). The lock covers rows created through here; a row written another way is not waited for.
 */

type Item = NotificationToInsert & { deliveries: NewDelivery[] };

const MINUTE = 60_000;
/** The advisory lock space of (user, type) keys: "LC" and 2 (the provider message ids' is 1, migration 0018). */
const RULE_LOCK_SPACE = 0x4c430002;

/** The value of a type's collapse key in a context (a dotted path), or null when it has none there. */
export function collapseKeyOf(def: NotificationTypeDef, context: Record<string, unknown>): string | null {
  const path = def.rules?.collapseKey;
  if (!path) return null;
  let at: unknown = context;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return null;
    at = (at as Record<string, unknown>)[part];
  }
  return typeof at === 'string' || typeof at === 'number' ? String(at) : null;
}

const rulesOf = (item: Item) => getNotificationType(item.notification.type)?.rules;
const lockKey = (item: Item) => `${item.notification.userId}:${item.notification.type}`;

/**
 * insertNotifications with the rules applied. A throttled item's deliveries are rewritten in
 * place, so the caller's item (the batch's answer) says what was written. `now`: the clock's
 * time, which the throttle window is measured against.
 */
export async function storeWithRules(
  q: Queryable,
  items: readonly Item[],
  withRows: boolean,
  now: Date,
): Promise<InsertedNotification[]> {
  const ruled = items.filter((item) => {
    const rules = rulesOf(item);
    return rules?.throttleMinutes !== undefined || rules?.collapseKey !== undefined;
  });
  if (ruled.length === 0) return insertNotifications(q, items, withRows);
  return q.transaction(async (tx) => {
    const keys = [...new Set(ruled.map(lockKey))];
    await tx.execute(sql`select lc_lock_keys(${RULE_LOCK_SPACE}, ${`{${keys.join(',')}}`}::text[])`);
    await throttle(tx, ruled, now);
    const inserted = await insertNotifications(tx, items, withRows);
    await supersedeDeliveries(
      tx,
      items.flatMap((item, i) =>
        inserted[i]!.kind === 'created' &&
        item.notification.collapseKey &&
        item.deliveries.some((d) => d.status === 'queued')
          ? [item.notification.notificationId]
          : [],
      ),
    );
    return inserted;
  });
}

async function throttle(tx: Queryable, items: readonly Item[], now: Date): Promise<void> {
  const throttled = items.flatMap((item) => {
    const minutes = rulesOf(item)?.throttleMinutes;
    return minutes ? [{ item, minutes }] : [];
  });
  const pairs = new Map(
    throttled.map(({ item, minutes }) => [
      lockKey(item),
      {
        userId: item.notification.userId,
        type: item.notification.type,
        since: new Date(now.getTime() - minutes * MINUTE),
      },
    ]),
  );
  const holders = await throttleWindowHolders(tx, [...pairs.values()]);
  for (const { item, minutes } of throttled) {
    const holder = holders.get(lockKey(item));
    if (holder) item.deliveries = throttledDeliveries(item, holder, minutes);
    // The first of the call in an open window holds it for the items after it.
    else holders.set(lockKey(item), { notificationId: item.notification.notificationId, createdAt: now });
  }
}

function throttledDeliveries(item: Item, holder: WindowHolder, minutes: number): NewDelivery[] {
  const until = new Date(holder.createdAt.getTime() + minutes * MINUTE);
  const message = SKIP_REASONS.throttled.message
    .replace('{type}', item.notification.type)
    .replace('{minutes}', String(minutes))
    .replace('{notification}', holder.notificationId)
    .replace('{until}', until.toISOString());
  return item.deliveries.map((d) => ({
    ...d,
    status: 'skipped',
    nextAttemptAt: null,
    skipReason: 'throttled',
    errorMessage: message,
    // A rule's wait (e.g. escalation) no longer applies to a delivery that is never sent.
    details: null,
    detail: null,
  }));
}
