import { and, asc, count, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Db, Queryable } from '../db/database.ts';
import { notifications, users } from '../db/schema.ts';
import { hasInboxDelivery, metadataParts } from '../deliveries/read-deliveries.ts';
import { AppError } from '../errors.ts';
import { mergeMetadata } from '../notifications/notification-metadata.ts';
import { publishInboxEvents } from './inbox-events.ts';

/**
 * Every SQL statement of the in-app inbox, in one place. A notification is in a user's inbox when
 * it has an in-app delivery that was not skipped (`hasInboxDelivery`, deliveries/read-deliveries.ts):
 * a user who turned the in-app channel off for a category never sees it there. It is listed from
 * creation; the live push follows a few milliseconds later, when the worker delivers it.
 */

/** What an inbox item is built from: the notification and its deliveries' metadata parts. */
const itemColumns = { n: notifications, metadata: metadataParts };
type ItemRow = { n: typeof notifications.$inferSelect; metadata: Record<string, unknown>[] };
export type InboxItem = ReturnType<typeof inboxItem>;

/** The seed's Notification fields, as the inbox shows them to their owner. */
function inboxItem({ n, metadata }: ItemRow) {
  return {
    notification_id: n.notificationId,
    type: n.type,
    category: n.category,
    priority: n.priority,
    title: n.title,
    message: n.message,
    context: n.context,
    metadata: mergeMetadata(metadata),
    is_read: n.readAt !== null,
    read_at: n.readAt?.toISOString() ?? null,
    created_at: n.createdAt.toISOString(),
  };
}

export interface InboxUser {
  id: number;
  externalId: string;
}

export async function findInboxUser(q: Queryable, externalId: string): Promise<InboxUser> {
  const [row] = await q.select({ id: users.id }).from(users).where(eq(users.externalId, externalId));
  if (!row) throw new AppError('USER_NOT_FOUND', `No user with id "${externalId}"`);
  return { id: row.id, externalId };
}

/** A cursor is the id of a notification in the user's own inbox; anything else is refused. */
async function cursorRowId(q: Queryable, user: InboxUser, cursor: string, field: string): Promise<number> {
  const [row] = await q
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(eq(notifications.notificationId, cursor), eq(notifications.userId, user.id)));
  if (!row) throw new AppError('VALIDATION_FAILED', `${field}: unknown cursor "${cursor}"`, { field });
  return row.id;
}

/** Newest first; `next_cursor` continues after the last item, null on the last page. */
export async function listInbox(
  q: Queryable,
  user: InboxUser,
  opts: { cursor?: string | undefined; limit: number; unreadOnly: boolean },
): Promise<{ notifications: InboxItem[]; next_cursor: string | null }> {
  const before = opts.cursor ? await cursorRowId(q, user, opts.cursor, 'cursor') : undefined;
  const rows = await q
    .select(itemColumns)
    .from(notifications)
    .where(
      and(
        eq(notifications.userId, user.id),
        hasInboxDelivery,
        opts.unreadOnly ? isNull(notifications.readAt) : undefined,
        before === undefined ? undefined : lt(notifications.id, before),
      ),
    )
    .orderBy(desc(notifications.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  return {
    notifications: page.map(inboxItem),
    next_cursor: rows.length > opts.limit ? page.at(-1)!.n.notificationId : null,
  };
}

/** What a client missed after `since` (oldest first), for a socket that reconnects. */
export async function inboxSince(
  q: Queryable,
  user: InboxUser,
  since: string,
  limit: number,
): Promise<{ items: InboxItem[]; truncated: boolean }> {
  const after = await cursorRowId(q, user, since, 'since');
  const rows = await q
    .select(itemColumns)
    .from(notifications)
    .where(and(eq(notifications.userId, user.id), hasInboxDelivery, gt(notifications.id, after)))
    .orderBy(asc(notifications.id))
    .limit(limit + 1);
  return { items: rows.slice(0, limit).map(inboxItem), truncated: rows.length > limit };
}

/** Unread counts of the given users (by their marketplace id); users with none are 0. */
export async function unreadCounts(
  q: Queryable,
  externalIds: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map(externalIds.map((id) => [id, 0]));
  if (externalIds.length === 0) return counts;
  const rows = await q
    .select({ user: users.externalId, unread: count() })
    .from(notifications)
    .innerJoin(users, eq(users.id, notifications.userId))
    .where(and(inArray(users.externalId, [...externalIds]), isNull(notifications.readAt), hasInboxDelivery))
    .groupBy(users.externalId);
  for (const r of rows) counts.set(r.user, Number(r.unread));
  return counts;
}

export async function countUnread(q: Queryable, user: InboxUser): Promise<number> {
  return (await unreadCounts(q, [user.externalId])).get(user.externalId) ?? 0;
}

/** Notifications by public id with their owner's marketplace id (what a NOTIFY names). */
export async function loadInboxItems(
  q: Queryable,
  ids: readonly string[],
): Promise<Array<{ user: string; item: InboxItem }>> {
  if (ids.length === 0) return [];
  const rows = await q
    .select({ ...itemColumns, user: users.externalId })
    .from(notifications)
    .innerJoin(users, eq(users.id, notifications.userId))
    .where(inArray(notifications.notificationId, [...ids]))
    .orderBy(asc(notifications.id));
  return rows.map((r) => ({ user: r.user, item: inboxItem(r) }));
}

/** Mark one read (idempotent: an already read one keeps its first read_at and publishes nothing). */
export async function markRead(db: Db, user: InboxUser, notificationId: string): Promise<InboxItem> {
  return db.transaction(async (tx) => {
    const own = and(
      eq(notifications.notificationId, notificationId),
      eq(notifications.userId, user.id),
      hasInboxDelivery,
    );
    const updated = await tx
      .update(notifications)
      .set({ readAt: sql`now()` })
      .where(and(own, isNull(notifications.readAt)))
      .returning({ id: notifications.id });
    if (updated.length > 0) {
      await publishInboxEvents(tx, [{ kind: 'read', user: user.externalId, id: notificationId }]);
    }
    const [row] = await tx.select(itemColumns).from(notifications).where(own);
    if (!row) throw new AppError('NOTIFICATION_NOT_FOUND', `No notification "${notificationId}"`);
    return inboxItem(row);
  });
}

export async function markAllRead(
  db: Db,
  user: InboxUser,
): Promise<{ marked: number; read_at: string | null }> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .update(notifications)
      .set({ readAt: sql`now()` })
      .where(and(eq(notifications.userId, user.id), isNull(notifications.readAt), hasInboxDelivery))
      .returning({ readAt: notifications.readAt });
    if (rows.length > 0) await publishInboxEvents(tx, [{ kind: 'read_all', user: user.externalId }]);
    // now() is the transaction's time, so every row got the same read_at.
    return { marked: rows.length, read_at: rows[0]?.readAt?.toISOString() ?? null };
  });
}
