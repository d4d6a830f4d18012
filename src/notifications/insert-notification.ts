import { sql } from 'drizzle-orm';
import type { ChannelName } from '../channels/channel.ts';
import { queryRows, type Tx } from '../db/database.ts';
import { decodeRow } from '../db/decode-row.ts';
import { deliveries, deliveryStatusHistory, notifications } from '../db/schema.ts';

/** NOTIFY channel the workers listen on (lc_insert_notification names it too); the payload names the channels that got work. */
export const DELIVERIES_CHANNEL = 'lc_deliveries';

export interface NewNotification {
  notificationId: string;
  userId: number;
  type: string;
  category: string;
  priority: string;
  title: string;
  message: string;
  context: Record<string, unknown>;
}

export interface NewDelivery {
  channel: ChannelName;
  status: 'queued' | 'skipped';
  maxAttempts: number;
  nextAttemptAt: Date | null;
  skipReason: string | null;
  errorMessage: string | null;
}

export interface InsertedNotification {
  notification: typeof notifications.$inferSelect;
  deliveries: Array<typeof deliveries.$inferSelect>;
  history: Array<typeof deliveryStatusHistory.$inferSelect>;
}

/**
 * Store a notification, its deliveries and their first history rows, record the response under
 * the idempotency key, and NOTIFY the workers of the channels that got queued work: ONE call
 * (lc_insert_notification, migrations/0005; a round trip instead of five), returning every row it
 * wrote.
 */
export async function insertNotification(
  tx: Tx,
  n: NewNotification,
  ds: readonly NewDelivery[],
  idempotency: { scope: string; key: string } | undefined,
): Promise<InsertedNotification> {
  const rows = ds.map((d, ord) => ({
    ord,
    channel: d.channel,
    status: d.status,
    max_attempts: d.maxAttempts,
    next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
    skip_reason: d.skipReason,
    error_message: d.errorMessage,
  }));
  const queued = [...new Set(ds.filter((d) => d.status === 'queued').map((d) => d.channel))].join(',');
  const [result] = await queryRows<{
    r: { notification: Record<string, unknown>; deliveries: unknown[]; history: unknown[] };
  }>(
    tx,
    sql`select lc_insert_notification(${n.notificationId}, ${n.userId}, ${n.type}, ${n.category},
      ${n.priority}, ${n.title}, ${n.message}, ${JSON.stringify(n.context)}::jsonb, ${JSON.stringify(rows)}::jsonb,
      ${idempotency?.scope ?? null}, ${idempotency?.key ?? null}, ${queued}) as r`,
  );
  const stored = result!.r;
  return {
    notification: decodeRow(notifications, stored.notification),
    deliveries: stored.deliveries.map((r) => decodeRow(deliveries, r as Record<string, unknown>)),
    history: stored.history.map((r) => decodeRow(deliveryStatusHistory, r as Record<string, unknown>)),
  };
}
