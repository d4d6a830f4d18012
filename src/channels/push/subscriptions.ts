import { and, eq, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/database.ts';
import { pushSubscriptions } from '../../db/schema.ts';

/** Every SQL statement about Web Push subscriptions, in one place. */

export type PushSubscriptionRow = typeof pushSubscriptions.$inferSelect;

export interface PushSubscriptionKeys {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/**
 * Store a browser's subscription for a user. An endpoint names one browser profile, so subscribing
 * it again (a new login on a shared device) moves it to the new user with the new keys.
 */
export async function savePushSubscription(
  q: Queryable,
  userId: number,
  sub: PushSubscriptionKeys,
): Promise<{ row: PushSubscriptionRow; created: boolean }> {
  const [row] = await q
    .insert(pushSubscriptions)
    .values({ userId, ...sub })
    .onConflictDoUpdate({
      target: pushSubscriptions.endpoint,
      set: { userId, p256dh: sub.p256dh, auth: sub.auth, updatedAt: sql`now()` },
    })
    .returning();
  return { row: row!, created: row!.createdAt.getTime() === row!.updatedAt.getTime() };
}

/** Unsubscribe; false when the user had no such subscription. */
export async function deletePushSubscription(
  q: Queryable,
  userId: number,
  endpoint: string,
): Promise<boolean> {
  const deleted = await q
    .delete(pushSubscriptions)
    .where(and(eq(pushSubscriptions.userId, userId), eq(pushSubscriptions.endpoint, endpoint)))
    .returning({ id: pushSubscriptions.id });
  return deleted.length > 0;
}

/** The push service said the subscription is gone (404/410): it will never work again. */
export async function removeGoneSubscription(q: Queryable, id: number): Promise<void> {
  await q.delete(pushSubscriptions).where(eq(pushSubscriptions.id, id));
}

export async function pushSubscriptionsOf(q: Queryable, userId: number): Promise<PushSubscriptionRow[]> {
  return q.select().from(pushSubscriptions).where(eq(pushSubscriptions.userId, userId));
}
