/**
 * SMS users send us (two-way SMS): stored one row per Twilio MessageSid, linked to the user with
 * that phone and to the SMS notification they are answering (their latest one sent), so a YES to a
 * message that asked for confirmation is recorded against its order.
 */
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { inboundSms, notifications, users } from '../db/schema.ts';
import { latestSentSmsNotification } from '../deliveries/read-deliveries.ts';
import { AppError } from '../errors.ts';

export interface LatestSms {
  notificationId: number;
  type: string;
  orderNumber: string | null;
  asksConfirmation: boolean;
}

/** The user's most recent notification whose SMS went out: what a reply most likely answers. */
export async function latestSmsNotification(db: Db, userId: number): Promise<LatestSms | undefined> {
  const row = await latestSentSmsNotification(db, userId);
  if (!row) return undefined;
  const order = row.context['order'] as { order_number?: unknown } | undefined;
  return {
    notificationId: Number(row.id),
    type: row.type,
    orderNumber: typeof order?.order_number === 'string' ? order.order_number : null,
    // The backend asks for a reply by setting `ask_confirmation` in the notification's context.
    asksConfirmation: row.context['ask_confirmation'] === true,
  };
}

export interface InboundRecord {
  messageSid: string;
  userId: number | null;
  from: string;
  to: string;
  body: string;
  keyword: string | null;
  notificationId: number | null;
  orderNumber: string | null;
  confirmed: boolean;
}

/** Store one inbound SMS; false when Twilio retried a webhook we already have. */
export async function storeInbound(db: Db, r: InboundRecord): Promise<boolean> {
  const inserted = await db
    .insert(inboundSms)
    .values({
      messageSid: r.messageSid,
      userId: r.userId,
      fromPhone: r.from,
      toPhone: r.to,
      body: r.body,
      keyword: r.keyword,
      notificationId: r.notificationId,
      orderNumber: r.orderNumber,
      confirmed: r.confirmed,
    })
    .onConflictDoNothing()
    .returning({ id: inboundSms.id });
  return inserted.length > 0;
}

/** Users with this phone, most recently updated first (a number can move between accounts). */
export async function usersByPhone(db: Db, phone: string) {
  return db.select().from(users).where(eq(users.phone, phone)).orderBy(desc(users.updatedAt));
}

export async function listSmsReplies(db: Db, externalId: string) {
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.externalId, externalId));
  if (!user) throw new AppError('USER_NOT_FOUND', `No user with id "${externalId}"`);
  const rows = await db
    .select({ m: inboundSms, publicId: notifications.notificationId })
    .from(inboundSms)
    .leftJoin(notifications, eq(notifications.id, inboundSms.notificationId))
    .where(eq(inboundSms.userId, user.id))
    .orderBy(desc(inboundSms.id))
    .limit(100);
  return {
    user_id: externalId,
    replies: rows.map(({ m, publicId }) => ({
      message_sid: m.messageSid,
      body: m.body,
      keyword: m.keyword,
      notification_id: publicId,
      order_number: m.orderNumber,
      confirmed: m.confirmed,
      received_at: m.createdAt.toISOString(),
    })),
  };
}
