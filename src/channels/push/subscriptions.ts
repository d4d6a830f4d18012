import { ECDH } from 'node:crypto';
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
 * A browser's `p256dh` (RFC 8291 §3.1): an uncompressed P-256 point, 65 bytes starting 0x04, that
 * lies on the curve. Any other key makes every payload encryption throw, so it could never be sent.
 */
export function isP256PublicKey(key: Buffer): boolean {
  if (key.length !== 65 || key[0] !== 0x04) return false;
  try {
    ECDH.convertKey(key, 'prime256v1'); // OpenSSL refuses a point that is not on the curve
    return true;
  } catch {
    return false;
  }
}

/** A browser's `auth` secret (RFC 8291 §3.2): 16 bytes. */
export const isPushAuthSecret = (key: Buffer): boolean => key.length === 16;

/** Keys an already stored row can encrypt with (rows from before the subscribe check may not). */
export const hasUsableKeys = (sub: PushSubscriptionKeys): boolean =>
  isP256PublicKey(Buffer.from(sub.p256dh, 'base64url')) &&
  isPushAuthSecret(Buffer.from(sub.auth, 'base64url'));

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
