import { eq } from 'drizzle-orm';
import type { ChannelName } from '../catalog/catalog.ts';
import { type DeliveryErrorInfo, describeDeliveryError } from '../channels/delivery-error-info.ts';
import type { Queryable } from '../db/database.ts';
import { type DeliveryStatus, notifications, users } from '../db/schema.ts';
import { clicksOf, type LinkClick } from '../links/link-store.ts';
import { type DeliveryRow, deliveriesWithHistory, type HistoryRow } from './read-deliveries.ts';

/** One history row: a transition (or, from → to the same, a provider's progress report). */
export interface TimelineStep {
  at: Date;
  /** null: the delivery's creation. */
  from: DeliveryStatus | null;
  to: DeliveryStatus;
  providerStatus: string | null;
  error: DeliveryErrorInfo | null;
  detail: string | null;
}

export interface DeliveryTimeline {
  id: number;
  channel: ChannelName;
  status: DeliveryStatus;
  skipReason: DeliveryErrorInfo | null;
  error: DeliveryErrorInfo | null;
  errorMessage: string | null;
  attempts: number;
  maxAttempts: number;
  /** When the worker takes it next: only while it is queued. */
  nextAttemptAt: Date | null;
  providerMessageId: string | null;
  providerStatus: string | null;
  cost: { amount: number; currency: string | null } | null;
  /** What the channel stored about the rendered message and its send (encoding, segments, DLT ids…). */
  details: Record<string, unknown> | null;
  /** The channel's part of the notification's metadata (sid, status, to, SMTP reply, push counts…). */
  metadata: Record<string, unknown>;
  createdAt: Date;
  steps: TimelineStep[];
  /** Each GET of the delivery's tracked links, oldest first (`client`: browser, bot or unknown). */
  clicks: Array<Omit<LinkClick, 'deliveryId'>>;
}

export interface NotificationTimeline {
  rowId: number;
  notificationId: string;
  userId: string;
  type: string;
  category: string;
  priority: string;
  /** The content as rendered at creation (the in-app text; other channels render from it and the context). */
  title: string;
  message: string;
  context: Record<string, unknown>;
  createdAt: Date;
  readAt: Date | null;
  deliveries: DeliveryTimeline[];
}

/**
 * One notification as the console's notification page shows it: its content, and each delivery with
 * every step of its history in order (creation, skip, each claim and attempt, the provider's
 * reports, each retry and resend), error codes with their meaning from the delivery-error catalogue.
 * Undefined when there is no notification of that public id.
 */
export async function notificationTimeline(
  q: Queryable,
  notificationId: string,
): Promise<NotificationTimeline | undefined> {
  const [row] = await q
    .select({ n: notifications, userId: users.externalId })
    .from(notifications)
    .innerJoin(users, eq(users.id, notifications.userId))
    .where(eq(notifications.notificationId, notificationId));
  if (!row) return undefined;
  const { n } = row;
  const { deliveries, history } = await deliveriesWithHistory(q, n.id);
  const clicks = await clicksOf(
    q,
    deliveries.map((d) => d.id),
  );
  return {
    rowId: n.id,
    notificationId: n.notificationId,
    userId: row.userId,
    type: n.type,
    category: n.category,
    priority: n.priority,
    title: n.title,
    message: n.message,
    context: n.context,
    createdAt: n.createdAt,
    readAt: n.readAt,
    deliveries: deliveries.map((d) =>
      deliveryTimeline(
        d,
        history.filter((h) => h.deliveryId === d.id),
        clicks.filter((c) => c.deliveryId === d.id),
      ),
    ),
  };
}

function deliveryTimeline(d: DeliveryRow, history: HistoryRow[], clicks: LinkClick[]): DeliveryTimeline {
  const channel = d.channel as ChannelName;
  const describe = (code: string | null) => (code === null ? null : describeDeliveryError(channel, code));
  return {
    id: d.id,
    channel,
    status: d.status,
    skipReason: describe(d.skipReason),
    error: describe(d.errorCode),
    errorMessage: d.errorMessage,
    attempts: d.attempts,
    maxAttempts: d.maxAttempts,
    nextAttemptAt: d.status === 'queued' ? d.nextAttemptAt : null,
    providerMessageId: d.providerMessageId,
    providerStatus: d.providerStatus,
    cost: d.costAmount === null ? null : { amount: Number(d.costAmount), currency: d.costCurrency },
    details: d.details,
    metadata: d.metadata,
    createdAt: d.createdAt,
    steps: history.map((h) => ({
      at: h.createdAt,
      from: h.fromStatus as DeliveryStatus | null,
      to: h.toStatus as DeliveryStatus,
      providerStatus: h.providerStatus,
      error: describe(h.errorCode),
      detail: h.detail,
    })),
    clicks: clicks.map(({ at, target, client }) => ({ at, target, client })),
  };
}
