import type { Channel, DeliveryJob, SendResult } from '../channels/channel.ts';
import type { Logger } from '../logger.ts';
import { isLookupAttempt, type RetryPolicy } from './retry-policy.ts';

/**
 * One attempt at a claimed delivery, as its channel's policy decides: a send, or (once the budget
 * ended on an attempt that may have reached the provider) a lookup only. Never throws: whatever the
 * channel does becomes a SendResult, the outcome the worker writes.
 */
export function attemptDelivery(
  channel: Channel,
  job: DeliveryJob,
  policy: RetryPolicy,
  signal: AbortSignal,
  logger: Logger,
): Promise<SendResult> {
  return isLookupAttempt(policy, job.attempt)
    ? lookup(channel, job, signal, logger)
    : send(channel, job, signal, logger);
}

/** Why the attempt stopped: the abort's reason (a timeout, the shutdown) or the channel's error. */
function failureMessage(err: unknown, signal: AbortSignal): string {
  return signal.aborted ? String((signal.reason as Error)?.message ?? signal.reason) : (err as Error).message;
}

/** What a failed attempt's log line carries: the abort's reason when it was cut off, else the error. */
function failureLog(channel: Channel, job: DeliveryJob, err: unknown, signal: AbortSignal) {
  return { deliveryId: job.deliveryId, channel: channel.name, err: signal.aborted ? signal.reason : err };
}

async function send(
  channel: Channel,
  job: DeliveryJob,
  signal: AbortSignal,
  logger: Logger,
): Promise<SendResult> {
  try {
    return await channel.send(job, signal);
  } catch (err) {
    logger.error(failureLog(channel, job, err, signal), 'channel threw');
    // Cut off mid-request, the send may have gone out: the next attempt checks first.
    return {
      kind: 'retryable',
      code: signal.aborted ? 'TIMEOUT' : 'CHANNEL_ERROR',
      message: failureMessage(err, signal),
      outcomeUnknown: true,
    };
  }
}

/**
 * A lookup-only attempt: adopt the message if the provider has it; fail only when it says it has
 * none; a lookup that cannot be made stays unknown and is asked again (bounded by the policy's
 * lookups), never resent.
 */
async function lookup(
  channel: Channel,
  job: DeliveryJob,
  signal: AbortSignal,
  logger: Logger,
): Promise<SendResult> {
  try {
    const found = await channel.lookup!(job, signal);
    return (
      found ?? {
        kind: 'permanent',
        code: 'NOT_SENT',
        message:
          'Every attempt failed and the provider has no such message: it was not sent (each attempt is in the history)',
      }
    );
  } catch (err) {
    logger.warn(failureLog(channel, job, err, signal), 'provider lookup failed; outcome still unknown');
    return {
      kind: 'retryable',
      code: 'LOOKUP_FAILED',
      message: `Could not ask the provider whether an earlier attempt was sent: ${failureMessage(err, signal)}`,
      outcomeUnknown: true,
    };
  }
}
