import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { notifications, users } from '../db/schema.ts';
import { type DeliveryRow, deliveriesWithHistory, type HistoryRow } from '../deliveries/read-deliveries.ts';
import { mergeMetadata } from './notification-metadata.ts';

const iso = (d: Date | null) => d?.toISOString() ?? null;

type NotificationRow = typeof notifications.$inferSelect;

/** A notification as the API shows it: the seed's Notification fields plus every delivery's timeline. */
export async function getNotificationView(q: Queryable, publicId: string) {
  const [row] = await q
    .select({ n: notifications, userExternalId: users.externalId })
    .from(notifications)
    .innerJoin(users, eq(users.id, notifications.userId))
    .where(eq(notifications.notificationId, publicId));
  if (!row) return undefined;
  const { deliveries: ds, history } = await deliveriesWithHistory(q, row.n.id);
  return toNotificationView(row.n, row.userExternalId, ds, history);
}

export type NotificationView = ReturnType<typeof toNotificationView>;

/** The view of rows already in hand (deliveries and history in id order). */
export function toNotificationView(
  n: NotificationRow,
  userExternalId: string,
  ds: readonly DeliveryRow[],
  history: readonly HistoryRow[],
) {
  return {
    notification_id: n.notificationId,
    user_id: userExternalId,
    type: n.type,
    category: n.category,
    priority: n.priority,
    title: n.title,
    message: n.message,
    context: n.context,
    metadata: mergeMetadata(ds.map((d) => d.metadata)),
    is_read: n.readAt !== null,
    read_at: iso(n.readAt),
    created_at: n.createdAt.toISOString(),
    send_at: iso(n.sendAt),
    cancel_key: n.cancelKey,
    deliveries: ds.map((d) => ({
      channel: d.channel,
      status: d.status,
      skip_reason: d.skipReason,
      attempts: d.attempts,
      max_attempts: d.maxAttempts,
      next_attempt_at: iso(d.nextAttemptAt),
      provider_message_id: d.providerMessageId,
      provider_status: d.providerStatus,
      error_code: d.errorCode,
      error_message: d.errorMessage,
      cost: d.costAmount === null ? null : { amount: d.costAmount, currency: d.costCurrency },
      details: d.details,
      created_at: d.createdAt.toISOString(),
      sent_at: iso(d.sentAt),
      delivered_at: iso(d.deliveredAt),
      failed_at: iso(d.failedAt),
      history: history
        .filter((h) => h.deliveryId === d.id)
        .map((h) => ({
          from: h.fromStatus,
          to: h.toStatus,
          provider_status: h.providerStatus,
          error_code: h.errorCode,
          detail: h.detail,
          at: h.createdAt.toISOString(),
        })),
    })),
  };
}
