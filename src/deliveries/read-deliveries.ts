import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';
import { deliveries, deliveryStatusHistory } from '../db/schema.ts';

/**
 * Every read of deliveries that another part of the service makes to do its job (the API's view of
 * a notification, the inbox, SMS caps, the SMS budget, two-way SMS, Vonage's receipts, the console's pages). They
 * change nothing; the statements that change a delivery are this folder's other files. The
 * reporting aggregates are src/stats/delivery-stats.ts.
 */

export type DeliveryRow = typeof deliveries.$inferSelect;
export type HistoryRow = typeof deliveryStatusHistory.$inferSelect;

/** A notification's deliveries and their history rows, each in id order. */
export async function deliveriesWithHistory(
  q: Queryable,
  notificationRowId: number,
): Promise<{ deliveries: DeliveryRow[]; history: HistoryRow[] }> {
  const ds = await q
    .select()
    .from(deliveries)
    .where(eq(deliveries.notificationId, notificationRowId))
    .orderBy(asc(deliveries.id));
  const history = ds.length
    ? await q
        .select()
        .from(deliveryStatusHistory)
        .where(
          inArray(
            deliveryStatusHistory.deliveryId,
            ds.map((d) => d.id),
          ),
        )
        .orderBy(asc(deliveryStatusHistory.id))
    : [];
  return { deliveries: ds, history };
}

/**
 * The metadata parts (`deliveries.metadata`) of the notification in the row being selected, in
 * delivery order (merged by notifications/notification-metadata.ts). The column is spelled out: in
 * a select list Drizzle renders `${notifications.id}` as a bare "id", which inside this subquery
 * would be the delivery's own.
 */
export const metadataParts = sql<Record<string, unknown>[]>`(
  select coalesce(jsonb_agg(d.metadata order by d.id), '[]'::jsonb)
  from deliveries d where d.notification_id = "notifications"."id")`;

/**
 * The notification in the row being selected has an in-app delivery that was not skipped: it is
 * in its user's inbox (a user who turned the in-app channel off for a category never sees it there).
 */
export const hasInboxDelivery = sql`exists (select 1 from deliveries d
  where d.notification_id = notifications.id and d.channel = 'in_app' and d.status <> 'skipped')`;

/**
 * SMS that count against the user's caps since `monthStart`: everything not skipped or failed (a
 * queued SMS will be sent; a failed one cost nothing). Counted by creation time, in one query.
 */
export async function countSmsSince(
  q: Queryable,
  userId: number,
  starts: { day: Date; month: Date },
): Promise<SmsSent> {
  return (await countSmsSinceEach(q, [{ userId, ...starts }])).get(userId)!;
}

export interface SmsSent {
  today: number;
  thisMonth: number;
}

/** countSmsSince for several users (each with their own local day and month) in one query. */
export async function countSmsSinceEach(
  q: Queryable,
  each: ReadonlyArray<{ userId: number; day: Date; month: Date }>,
): Promise<Map<number, SmsSent>> {
  const rows = await queryRows<{ user_id: string; today: string; month: string }>(
    q,
    sql`select w."userId" as user_id, c.today, c.month
        from jsonb_to_recordset(${JSON.stringify(each)}::jsonb) as w("userId" bigint, day timestamptz, month timestamptz)
        cross join lateral (
          select count(*) filter (where n.created_at >= w.day) as today, count(*) as month
          from notifications n join deliveries d on d.notification_id = n.id
          where n.user_id = w."userId" and n.created_at >= w.month
            and d.channel = 'sms' and d.status not in ('skipped', 'failed')) c`,
  );
  return new Map(
    rows.map((r) => [Number(r.user_id), { today: Number(r.today), thisMonth: Number(r.month) }]),
  );
}

/** The estimated SMS spend (`cost_amount`) sent on one UTC day (`YYYY-MM-DD`) in `currency`. */
export async function smsSpentOn(q: Queryable, day: string, currency: string): Promise<number> {
  const [row] = await queryRows<{ spent: string | null }>(
    q,
    sql`select coalesce(sum(cost_amount), 0) as spent from deliveries
        where channel = 'sms' and cost_currency = ${currency}
          and sent_at >= ${day}::date and sent_at < ${day}::date + 1`,
  );
  return Number(row?.spent ?? 0);
}

/** The user's most recent notification whose SMS went out (sent or delivered). */
export async function latestSentSmsNotification(
  q: Queryable,
  userId: number,
): Promise<{ id: string; type: string; context: Record<string, unknown> } | undefined> {
  const [row] = await queryRows<{ id: string; type: string; context: Record<string, unknown> }>(
    q,
    sql`select n.id, n.type, n.context from notifications n
        join deliveries d on d.notification_id = n.id
        where n.user_id = ${userId} and d.channel = 'sms' and d.status in ('sent', 'delivered')
        order by d.sent_at desc nulls last, n.id desc limit 1`,
  );
  return row;
}

/** The deliveries of some notifications (by row id), in id order: what each channel did, in brief. */
export function deliveryStatusesOf(
  q: Queryable,
  notificationRowIds: readonly number[],
): Promise<Array<{ notificationId: number; channel: string; status: string; skipReason: string | null }>> {
  if (notificationRowIds.length === 0) return Promise.resolve([]);
  return q
    .select({
      notificationId: deliveries.notificationId,
      channel: deliveries.channel,
      status: deliveries.status,
      skipReason: deliveries.skipReason,
    })
    .from(deliveries)
    .where(inArray(deliveries.notificationId, [...notificationRowIds]))
    .orderBy(asc(deliveries.id));
}

/**
 * An SMS delivery's provider id and every part's id (`metadata.sms.message_ids`, which a Vonage
 * send records), or undefined when there is no SMS delivery with this id.
 */
export async function smsMessageIds(
  q: Queryable,
  deliveryId: number,
): Promise<{ providerMessageId: string | null; partIds: string[] } | undefined> {
  const [d] = await q
    .select({ providerMessageId: deliveries.providerMessageId, metadata: deliveries.metadata })
    .from(deliveries)
    .where(and(eq(deliveries.id, deliveryId), eq(deliveries.channel, 'sms')));
  if (!d) return undefined;
  const ids = (d.metadata['sms'] as { message_ids?: unknown } | undefined)?.message_ids;
  const partIds = Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  return { providerMessageId: d.providerMessageId, partIds };
}
