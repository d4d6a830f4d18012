import { eq } from 'drizzle-orm';
import { users } from '../db/schema.ts';
import type { SmsOptInHook } from '../preferences/preferences-service.ts';
import { type CreateNotificationDeps, createNotification } from './create-notification.ts';

/**
 * The SMS opt-in confirmation (the guide: "Provide opt-out instructions"): when a user turns SMS on
 * (the preferences API, or START/YES texted to us), one `sms_opt_in_confirmed` notification through
 * the normal delivery path tells them the brand, what they will get and how to reply HELP or STOP.
 * It is created in the opt-in's own transaction, so it exists exactly when the opt-in does; the key
 * names the opt-in's preference_changes row, so no second path or replay can send it twice. Turning
 * SMS on again while it is on is no opt-in (applyFlagChanges), so it sends nothing.
 */
export function smsOptInConfirmation(deps: CreateNotificationDeps): SmsOptInHook {
  return async (tx, optIn) => {
    const [user] = await tx
      .select({ externalId: users.externalId })
      .from(users)
      .where(eq(users.id, optIn.userId));
    await createNotification(
      { ...deps, db: tx },
      {
        userId: user!.externalId,
        type: 'sms_opt_in_confirmed',
        context: {},
        idempotencyKey: `sms-opt-in:${optIn.changeId}`,
        idempotencyScope: 'system:sms-opt-in',
      },
    );
  };
}
