import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { deliveries, notificationPreferences, notifications, preferenceChanges } from '../db/schema.ts';
import { fromGuard, onlyFrom, TRANSITIONS } from '../deliveries/state-machine.ts';
import { CATEGORIES } from './catalog.ts';
import { DEFAULT_CHANNEL_ENABLED } from './preferences.ts';

export type OptOutSource = 'twilio_21610' | 'stop_keyword' | 'api';

/**
 * Turn every SMS preference of a user off — Twilio said the number replied STOP (error 21610) or the
 * user texted a STOP keyword — record why, and skip the SMS still waiting in the queue, so the
 * opt-out is honoured at once without a per-send preference query on the hot path.
 */
export async function optOutOfSms(
  db: Db,
  userId: number,
  source: OptOutSource,
  reason: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    const current = await tx
      .select()
      .from(notificationPreferences)
      .where(and(eq(notificationPreferences.userId, userId), eq(notificationPreferences.channel, 'sms')));
    const before = new Map(current.map((p) => [p.category, p.enabled]));
    await tx
      .insert(notificationPreferences)
      .values(CATEGORIES.map((category) => ({ userId, category, channel: 'sms', enabled: false })))
      .onConflictDoUpdate({
        target: [
          notificationPreferences.userId,
          notificationPreferences.category,
          notificationPreferences.channel,
        ],
        set: { enabled: false, updatedAt: sql`now()` },
      });
    const changed = CATEGORIES.filter((c) => (before.get(c) ?? DEFAULT_CHANNEL_ENABLED.sms) !== false);
    if (changed.length > 0) {
      await tx.insert(preferenceChanges).values(
        changed.map((category) => ({
          userId,
          category,
          channel: 'sms',
          fromEnabled: before.get(category) ?? DEFAULT_CHANNEL_ENABLED.sms,
          toEnabled: false,
          source,
          reason,
        })),
      );
    }
    const userNotifications = tx
      .select({ id: notifications.id })
      .from(notifications)
      .where(eq(notifications.userId, userId));
    const skipped = await tx
      .update(deliveries)
      .set({
        status: TRANSITIONS.opt_out_skip.to,
        skipReason: 'disabled_by_user',
        errorMessage: reason,
        nextAttemptAt: null,
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(deliveries.channel, 'sms'),
          fromGuard(sql`${deliveries.status}`, 'opt_out_skip'),
          inArray(deliveries.notificationId, userNotifications),
        ),
      )
      .returning({ id: deliveries.id });
    if (skipped.length > 0) {
      await tx.execute(sql`insert into delivery_status_history (delivery_id, from_status, to_status, detail)
        select unnest(${`{${skipped.map((d) => d.id).join(',')}}`}::bigint[]), ${onlyFrom('opt_out_skip')},
               ${TRANSITIONS.opt_out_skip.to}, ${reason}`);
    }
  });
}
