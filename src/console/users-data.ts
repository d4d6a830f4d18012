/**
 * What the console's users pages read (src/console/users-page.ts): a bounded search, and one user's
 * profile, SMS history, caps and latest notifications. Preferences come from the preferences
 * service and the cap counts from the same query notification creation uses, so the pages show
 * what the service acts on.
 */
import { and, asc, desc, eq, gt, or } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { notifications, preferenceChanges, users } from '../db/schema.ts';
import { countSmsSince, deliveryStatusesOf } from '../deliveries/read-deliveries.ts';
import { capPeriodStarts, type SmsCaps } from '../preferences/sms-caps.ts';
import { effectiveTimeZone } from '../user-time-zone.ts';

export type UserRow = typeof users.$inferSelect;

/**
 * Exact matches only, on the three indexed columns (users_external_id_key, users_email_idx,
 * users_phone_idx), so a search is an index lookup on any size of table. A phone may be typed with
 * spaces, dashes or brackets: they are dropped before comparing with the stored E.164 form.
 */
export async function searchUsers(
  db: Db,
  query: string,
  afterId: number | undefined,
  limit: number,
): Promise<{ users: UserRow[]; more: boolean }> {
  const phone = /^\+[\d\s().-]+$/.test(query) ? query.replace(/[\s().-]/g, '') : query;
  const match = or(eq(users.externalId, query), eq(users.email, query), eq(users.phone, phone));
  const rows = await db
    .select()
    .from(users)
    .where(afterId === undefined ? match : and(match, gt(users.id, afterId)))
    .orderBy(asc(users.id))
    .limit(limit + 1);
  return { users: rows.slice(0, limit), more: rows.length > limit };
}

export async function findUserRow(db: Db, externalId: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.externalId, externalId));
  return row;
}

export type SmsChange = typeof preferenceChanges.$inferSelect;

/** The user's SMS preference changes, newest first: opt-ins, STOP/START replies, API and console edits. */
export function smsHistory(db: Db, userId: number, limit: number): Promise<SmsChange[]> {
  return db
    .select()
    .from(preferenceChanges)
    .where(and(eq(preferenceChanges.userId, userId), eq(preferenceChanges.channel, 'sms')))
    .orderBy(desc(preferenceChanges.id))
    .limit(limit);
}

export interface CapUsage {
  caps: SmsCaps;
  today: number;
  thisMonth: number;
}

/** SMS counted against the caps in the user's local day and month, exactly as creation counts them. */
export async function capUsage(db: Db, user: UserRow, caps: SmsCaps, now: Date): Promise<CapUsage> {
  const sent = await countSmsSince(db, user.id, capPeriodStarts(now, effectiveTimeZone(user).zone));
  return { caps, ...sent };
}

export interface RecentNotification {
  notificationId: string;
  type: string;
  title: string;
  createdAt: Date;
  deliveries: Array<{ channel: string; status: string; skipReason: string | null }>;
}

/** The user's newest notifications (notifications_user_created_idx), each with its deliveries. */
export async function recentNotifications(
  db: Db,
  userId: number,
  limit: number,
): Promise<RecentNotification[]> {
  const rows = await db
    .select()
    .from(notifications)
    .where(eq(notifications.userId, userId))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(limit);
  const ds = await deliveryStatusesOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => ({
    notificationId: r.notificationId,
    type: r.type,
    title: r.title,
    createdAt: r.createdAt,
    deliveries: ds.filter((d) => d.notificationId === r.id),
  }));
}
