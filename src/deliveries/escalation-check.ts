import { eq } from 'drizzle-orm';
import type { Channel, DeliveryJob, EscalationWait, SendResult } from '../channels/channel.ts';
import { skipMessage } from '../channels/delivery-errors.ts';
import type { Clock } from '../clock.ts';
import type { Queryable } from '../db/database.ts';
import { notifications } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import { attemptDelivery } from './attempt.ts';
import { isLookupAttempt, type RetryPolicy } from './retry-policy.ts';

export interface EscalationCheckDeps {
  db: Queryable;
  clock: Clock;
  logger: Logger;
}

/** When the notification's in-app message was read, or null while it is unread. */
export async function inAppReadAt(q: Queryable, notificationId: string): Promise<Date | null> {
  const [row] = await q
    .select({ readAt: notifications.readAt })
    .from(notifications)
    .where(eq(notifications.notificationId, notificationId));
  return row?.readAt ?? null;
}

/**
 * One attempt at an escalated delivery (a job with `escalation`, held back at creation by
 * notifications/escalation-hold.ts): read whether the in-app message has been read, then skip
 * (`read_in_app`, the provider never called, nothing paid) or send as usual, saying it was unread.
 *
 * One way only. The check is a read of `notifications.read_at` and the attempt's outcome is
 * written once, under the claim's lease: a read committed before the check skips, one committed
 * after it (while the send is under way, or later) finds the SMS already on its way and changes
 * nothing; no path un-sends or sends after a skip, since a skip is terminal.
 *
 * A crash between the check and the send (or during the send) writes nothing: the row stays
 * `sending` until its lease expires, the reaper requeues it with `outcome_unknown`, and the next
 * attempt checks again. Unread, the channel's own send asks the provider for the earlier message
 * before sending (crash-safe sending, see sms-channel.ts), so it is adopted, not sent twice. Read,
 * the provider is asked here too before skipping: a message that went out is adopted (`sent`, as
 * it was paid for), and `skipped` is recorded only when it has none.
 */
export async function attemptEscalated(
  deps: EscalationCheckDeps,
  channel: Channel,
  job: DeliveryJob,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<SendResult> {
  const wait = job.escalation;
  // A lookup-only attempt sends nothing, so there is nothing to hold back.
  if (!wait || isLookupAttempt(policy, job.attempt)) {
    return attemptDelivery(channel, job, policy, signal, deps.logger);
  }
  let readAt: Date | null;
  try {
    readAt = await inAppReadAt(deps.db, job.notificationId);
  } catch (err) {
    deps.logger.warn({ deliveryId: job.deliveryId, err }, 'escalation check failed; not sent this time');
    return {
      kind: 'retryable',
      code: 'ESCALATION_CHECK_FAILED',
      message: `Could not read whether the in-app message was read: ${(err as Error).message}`,
      // A doubt left by an earlier attempt stays: this one sent nothing to clear it.
      outcomeUnknown: job.outcomeUnknown,
    };
  }
  const checkedAt = new Date(deps.clock.now()).toISOString();
  const escalation = { ...wait, checked_at: checkedAt, read_at: readAt?.toISOString() ?? null };
  if (readAt === null) {
    const result = await attemptDelivery(channel, job, policy, signal, deps.logger);
    if (result.kind !== 'sent') return result;
    const unread = `the in-app message was still unread at ${checkedAt}`;
    return {
      ...result,
      details: { ...result.details, escalation },
      detail: result.detail ? `${unread}; ${result.detail}` : unread,
    };
  }
  return readBeforeSend(channel, job, signal, deps.logger, readAt, escalation);
}

/** The in-app message was read first: skipped, unless an earlier attempt may have sent it already. */
async function readBeforeSend(
  channel: Channel,
  job: DeliveryJob,
  signal: AbortSignal,
  logger: Logger,
  readAt: Date,
  escalation: EscalationWait & { checked_at: string },
): Promise<SendResult> {
  const skipped = (why = ''): SendResult => ({
    kind: 'skipped',
    reason: 'read_in_app',
    message: skipMessage('read_in_app', { channel: job.channel }),
    details: { escalation },
    detail: `read in app at ${readAt.toISOString()}; ${job.channel} not sent${why}`,
  });
  if (!job.outcomeUnknown) return skipped();
  if (!channel.lookup) {
    return skipped(" by this attempt (an earlier one's outcome is unknown and the provider cannot be asked)");
  }
  try {
    // The earlier attempt's message, if the provider has it: adopted, since it went out and was paid for.
    return (
      (await channel.lookup(job, signal)) ??
      skipped(' (the provider has no message from the earlier attempt)')
    );
  } catch (err) {
    logger.warn({ deliveryId: job.deliveryId, err }, 'provider lookup failed; outcome still unknown');
    return {
      kind: 'retryable',
      code: 'LOOKUP_FAILED',
      message: `Could not ask the provider whether an earlier attempt was sent: ${(err as Error).message}`,
      outcomeUnknown: true,
    };
  }
}
