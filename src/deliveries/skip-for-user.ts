import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { deliveries, notifications } from '../db/schema.ts';
import { fromGuard, onlyFrom, TRANSITIONS } from './state-machine.ts';

/**
 * Skip every SMS of a user still waiting in the queue (opt_out_skip: queued → skipped,
 * disabled_by_user), with its history row; `reason` is recorded on both. Run inside the opt-out's
 * transaction (preferences/sms-opt-out.ts), so the preference change and the skip commit together
 * and the opt-out is honoured without a per-send preference query on the hot path.
 */
export async function skipQueuedSmsForUser(tx: Queryable, userId: number, reason: string): Promise<void> {
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
}
