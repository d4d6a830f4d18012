import { and, eq, sql } from 'drizzle-orm';
import { CATEGORIES } from '../catalog/catalog.ts';
import type { Db } from '../db/database.ts';
import { notificationPreferences, preferenceChanges } from '../db/schema.ts';
import { skipQueuedSmsForUser } from '../deliveries/skip-for-user.ts';
import { DEFAULT_CHANNEL_ENABLED } from './preference-map.ts';

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
    await skipQueuedSmsForUser(tx, userId, reason);
  });
}
