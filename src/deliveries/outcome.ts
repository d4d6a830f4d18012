import type { DeliveryJob, SendResult } from '../channels/channel.ts';
import type { Completion } from './complete.ts';
import { isLookupAttempt, nextAttemptAt, nextLookupAt, type RetryPolicy } from './retry-policy.ts';

/**
 * Turn a channel's answer into the event it fires (pure; the state machine gives the status):
 * sent/delivered, retry later, failed for good, or skipped. The retry budget is the channel's
 * policy; an unknown outcome at its end is queued for a lookup rather than failed.
 */
export function toCompletion(
  job: DeliveryJob,
  result: SendResult,
  policy: RetryPolicy,
  now: Date,
): Completion {
  const base = { id: job.deliveryId, metadata: result.metadata ?? null };
  // Merged into the stored details by lc_complete_deliveries: the latest attempt's rendering wins.
  const content = 'content' in result && result.content ? { content: result.content } : null;
  const lookup = isLookupAttempt(policy, job.attempt);
  switch (result.kind) {
    case 'sent':
      return {
        ...base,
        event: lookup
          ? result.delivered
            ? 'lookup_adopt_delivered'
            : 'lookup_adopt'
          : result.delivered
            ? 'send_delivered'
            : 'send_ok',
        providerMessageId: result.providerMessageId ?? null,
        providerStatus: result.providerStatus ?? null,
        costAmount: result.costAmount ?? null,
        costCurrency: result.costCurrency ?? null,
        details: result.details || content ? { ...result.details, ...content } : null,
        detail: result.detail ?? null,
      };
    case 'retryable': {
      const retryAt = nextAttemptAt(policy, job.attempt, now, result.retryAfterMs);
      // The budget is spent but this attempt may have reached the provider: never fail it blind,
      // ask the provider first (lookup-only attempts; see the worker).
      const lookupAt =
        retryAt === null && result.outcomeUnknown === true ? nextLookupAt(policy, job.attempt, now) : null;
      const next = retryAt ?? lookupAt;
      const what = lookup ? `lookup ${job.attempt - policy.maxAttempts}` : `attempt ${job.attempt}`;
      return {
        ...base,
        event: lookup
          ? next
            ? 'lookup_retry'
            : 'lookup_exhausted'
          : retryAt
            ? 'send_retry'
            : lookupAt
              ? 'send_exhausted_unknown'
              : 'send_exhausted',
        nextAttemptAt: next,
        errorCode: result.code,
        errorMessage: result.message,
        // Cleared when the provider gave a clear refusal, so only a real doubt costs a lookup.
        details: { ...result.details, outcome_unknown: result.outcomeUnknown === true, ...content },
        detail: retryAt
          ? `${what} failed (${result.code}); retry at ${retryAt.toISOString()}`
          : lookupAt
            ? `${what} failed (${result.code}); retries exhausted, outcome unknown: asking the provider at ${lookupAt.toISOString()}`
            : `${what} failed (${result.code}); retries exhausted`,
      };
    }
    case 'permanent':
      return {
        ...base,
        event: lookup ? 'lookup_none' : 'send_permanent',
        errorCode: result.code,
        errorMessage: result.message,
        details: result.details || content ? { ...result.details, ...content } : null,
      };
    case 'skipped':
      return {
        ...base,
        event: 'send_skipped',
        skipReason: result.reason,
        errorMessage: result.message,
        details: result.details ?? null,
        detail: result.detail ?? null,
      };
  }
}
