import { sql } from 'drizzle-orm';
import type { ChannelName } from '../catalog/catalog.ts';
import { type Db, type Queryable, queryRows } from '../db/database.ts';
import { decodeRow } from '../db/decode-row.ts';
import { deliveries, deliveryStatusHistory, notifications } from '../db/schema.ts';
import { activeTraceParent } from '../trace-context.ts';
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
  /** Delivery rules (catalog/delivery-rules.ts): the requested send time and the type's keys. */
  sendAt?: Date | null;
  cancelKey?: string | null;
  collapseKey?: string | null;
}

export interface NewDelivery {
  channel: ChannelName;
  status: 'queued' | 'skipped';
  maxAttempts: number;
  nextAttemptAt: Date | null;
  skipReason: string | null;
  errorMessage: string | null;
  /** A rule's state kept on the delivery from the start (e.g. the escalation it waits for). */
  details?: Record<string, unknown> | null;
  /** Its first history line when a rule shapes it ("waiting for read until …"). */
  detail?: string | null;
}

/** The state machine's creation event of each initial status (lc_insert_notifications checks it). */
const CREATE_EVENT = {
  queued: 'create_queued',
  skipped: 'create_skipped',
} as const satisfies Record<NewDelivery['status'], EventsBy<'lc_insert_notifications'>>;

export interface IdempotencyClaim {
  scope: string;
  key: string;
  /** Of the request's content: the same key with other content is a conflict. */
  requestHash: string;
}

/** One notification to store: its row, its deliveries, and the key it claims (if any). */
export interface NotificationToInsert {
  notification: NewNotification;
  deliveries: readonly NewDelivery[];
  idempotency: IdempotencyClaim | undefined;
}

export interface InsertedRows {
  notification: typeof notifications.$inferSelect;
  deliveries: Array<typeof deliveries.$inferSelect>;
  history: Array<typeof deliveryStatusHistory.$inferSelect>;
}

export type InsertedNotification =
  /** Stored; with every row written when they were asked for. */
  | { kind: 'created'; rows: InsertedRows | undefined }
  /** The key was taken by a request that committed first: nothing was written for this one. */
  | { kind: 'existing'; requestHash: string; response: Record<string, unknown> | null };

/**
 * Claim the idempotency keys, store the notifications, their deliveries and first history rows,
 * and NOTIFY the workers once of the channels that got queued work: ONE atomic call for any number
 * of notifications (lc_insert_notifications; live body in src/db/schema.sql), keys claimed in
 * order so concurrent calls sharing keys cannot deadlock. One result per item, in order: created
 * (with its rows when `withRows`: the single create answers from them), or the key's holder when
 * another request took it first. Keys must be distinct within one call.
 */
export async function insertNotifications(
  q: Queryable,
  items: readonly NotificationToInsert[],
  withRows: boolean,
): Promise<InsertedNotification[]> {
  const payload = items.map(({ notification: n, deliveries: ds, idempotency: k }, ord) => ({
    ord,
    notification_id: n.notificationId,
    user_id: n.userId,
    type: n.type,
    category: n.category,
    priority: n.priority,
    title: n.title,
    message: n.message,
    context: n.context,
    send_at: n.sendAt?.toISOString() ?? null,
    cancel_key: n.cancelKey ?? null,
    collapse_key: n.collapseKey ?? null,
    scope: k?.scope ?? null,
    key: k?.key ?? null,
    request_hash: k?.requestHash ?? null,
    deliveries: ds.map((d, i) => ({
      ord: i,
      channel: d.channel,
      event: CREATE_EVENT[d.status],
      max_attempts: d.maxAttempts,
      next_attempt_at: d.nextAttemptAt?.toISOString() ?? null,
      skip_reason: d.skipReason,
      error_message: d.errorMessage,
      details: d.details ?? null,
      detail: d.detail ?? null,
    })),
  }));
  const queued = [
    ...new Set(items.flatMap((i) => i.deliveries.filter((d) => d.status === 'queued').map((d) => d.channel))),
  ].join(',');
  type Result = {
    r: {
      created: Array<{
        ord: number;
        notification: unknown;
        deliveries: unknown[];
        history: unknown[];
      }> | null;
      existing: Array<{ ord: number; request_hash: string; response: Record<string, unknown> | null }>;
    };
  };
  const insert = (tx: Queryable) =>
    queryRows<Result>(
      tx,
      sql`select lc_insert_notifications(${JSON.stringify(payload)}::jsonb, ${DELIVERIES_CHANNEL}, ${queued},
        ${TRANSITIONS_JSON}::jsonb, ${withRows}) as r`,
    );
  // Tracing on: the deliveries carry the request's trace to the worker, written before the commit
  // that wakes it. Off, there is no traceparent and the statement runs alone, as it always did.
  const traceParent = queued ? activeTraceParent() : undefined;
  const [result] =
    traceParent === undefined
      ? await insert(q)
      : await (q as Db).transaction(async (tx) => {
          const rows = await insert(tx);
          await tx.execute(
            sql`update deliveries d set trace_parent = ${traceParent} from notifications n
                where n.id = d.notification_id and d.status = 'queued'
                  and n.notification_id in (select jsonb_array_elements_text(${JSON.stringify(
                    items.map((i) => i.notification.notificationId),
                  )}::jsonb))`,
          );
          return rows;
        });
  const { created, existing } = result!.r;
  const out: InsertedNotification[] = items.map(() => ({ kind: 'created', rows: undefined }));
  for (const e of existing) {
    out[e.ord] = { kind: 'existing', requestHash: e.request_hash, response: e.response };
  }
  for (const c of created ?? []) {
    out[c.ord] = {
      kind: 'created',
      rows: {
        notification: decodeRow(notifications, c.notification as Record<string, unknown>),
        deliveries: c.deliveries.map((r) => decodeRow(deliveries, r as Record<string, unknown>)),
        history: c.history.map((r) => decodeRow(deliveryStatusHistory, r as Record<string, unknown>)),
      },
    };
  }
  return out;
}
