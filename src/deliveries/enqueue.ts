import { sql } from 'drizzle-orm';
import type { ChannelName } from '../channels/channel.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { decodeRow } from '../db/decode-row.ts';
import { deliveries, deliveryStatusHistory, notifications } from '../db/schema.ts';
import { type EventsBy, TRANSITIONS_JSON } from './state-machine.ts';

/** NOTIFY channel the workers listen on; the payload names the channels that got work. */
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

/** The state machine's creation event of each initial status (lc_insert_notification checks it). */
const CREATE_EVENT = {
  queued: 'create_queued',
  skipped: 'create_skipped',
} as const satisfies Record<NewDelivery['status'], EventsBy<'lc_insert_notification'>>;

export interface IdempotencyClaim {
  scope: string;
  key: string;
  /** Of the request's content: the same key with other content is a conflict. */
  requestHash: string;
}

export type InsertedNotification =
  | {
      kind: 'created';
      notification: typeof notifications.$inferSelect;
      deliveries: Array<typeof deliveries.$inferSelect>;
      history: Array<typeof deliveryStatusHistory.$inferSelect>;
    }
  /** The key was taken by a request that committed first: nothing was written. */
  | { kind: 'existing'; requestHash: string; response: Record<string, unknown> | null };

/**
 * Claim the idempotency key, store a notification, its deliveries and their first history rows,
 * record the response under the key, and NOTIFY the workers of the channels that got queued work:
 * ONE atomic call (lc_insert_notification; live body in src/db/schema.sql), returning every row it wrote, or the
 * key's holder when another request took it first.
 */
export async function insertNotification(
  q: Queryable,
  n: NewNotification,
  ds: readonly NewDelivery[],
  idempotency: IdempotencyClaim | undefined,
): Promise<InsertedNotification> {
  const rows = ds.map((d, ord) => ({
    ord,
    channel: d.channel,
    event: CREATE_EVENT[d.status],
    max_attempts: d.maxAttempts,
    next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
    skip_reason: d.skipReason,
    error_message: d.errorMessage,
  }));
  const queued = [...new Set(ds.filter((d) => d.status === 'queued').map((d) => d.channel))].join(',');
  const [result] = await queryRows<{
    r:
      | { notification: Record<string, unknown>; deliveries: unknown[]; history: unknown[] }
      | { existing: { request_hash: string; response: Record<string, unknown> | null } };
  }>(
    q,
    sql`select lc_insert_notification(${n.notificationId}, ${n.userId}, ${n.type}, ${n.category},
      ${n.priority}, ${n.title}, ${n.message}, ${JSON.stringify(n.context)}::jsonb, ${JSON.stringify(rows)}::jsonb,
      ${idempotency?.scope ?? null}, ${idempotency?.key ?? null}, ${idempotency?.requestHash ?? null},
      ${DELIVERIES_CHANNEL}, ${queued}, ${TRANSITIONS_JSON}::jsonb) as r`,
  );
  const stored = result!.r;
  if ('existing' in stored) {
    return {
      kind: 'existing',
      requestHash: stored.existing.request_hash,
      response: stored.existing.response,
    };
  }
  return {
    kind: 'created',
    notification: decodeRow(notifications, stored.notification),
    deliveries: stored.deliveries.map((r) => decodeRow(deliveries, r as Record<string, unknown>)),
    history: stored.history.map((r) => decodeRow(deliveryStatusHistory, r as Record<string, unknown>)),
  };
}
