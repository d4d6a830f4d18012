import type { ChannelName } from '../catalog/catalog.ts';

/**
 * Retry timing as a pure function of the attempt number, so it can be table-tested with any clock.
 * SMS keeps the seed's rule (3 retries, 5 minutes apart); other channels back off exponentially.
 */
export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  /**
   * Lookup-only attempts after the last one, when that one's outcome is unknown (it may have reached
   * the provider): the channel asks the provider whether it went out instead of failing blind or
   * sending again. 0 for channels that cannot ask theirs.
   */
  maxLookups: number;
  baseDelayMs: number;
  /** 1 = fixed delay; 2 = doubling. */
  factor: number;
  maxDelayMs: number;
}

export interface RetryConfig {
  SMS_MAX_RETRIES: number;
  SMS_RETRY_DELAY_MS: number;
}

/**
 * Twilio lookups after an SMS budget ends in doubt, one retry delay apart: enough to ride out a
 * short API outage; past them the delivery fails as LOOKUP_FAILED, still flagged outcome_unknown.
 */
const SMS_MAX_LOOKUPS = 5;

export function retryPolicies(config: RetryConfig): Record<ChannelName, RetryPolicy> {
  return {
    sms: {
      maxAttempts: config.SMS_MAX_RETRIES + 1,
      maxLookups: SMS_MAX_LOOKUPS,
      baseDelayMs: config.SMS_RETRY_DELAY_MS,
      factor: 1,
      maxDelayMs: config.SMS_RETRY_DELAY_MS,
    },
    email: { maxAttempts: 5, maxLookups: 0, baseDelayMs: 60_000, factor: 2, maxDelayMs: 3_600_000 },
    push: { maxAttempts: 5, maxLookups: 0, baseDelayMs: 30_000, factor: 2, maxDelayMs: 1_800_000 },
    in_app: { maxAttempts: 3, maxLookups: 0, baseDelayMs: 1_000, factor: 2, maxDelayMs: 10_000 },
  };
}

/**
 * When to try again after failed attempt number `attempt` (1-based), or null when the budget is
 * spent. A provider's Retry-After is honoured when it asks for longer than the policy would wait.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attempt: number,
  now: Date,
  retryAfterMs?: number,
): Date | null {
  if (attempt >= policy.maxAttempts) return null;
  const backoff = Math.min(policy.baseDelayMs * policy.factor ** (attempt - 1), policy.maxDelayMs);
  return new Date(now.getTime() + Math.max(backoff, retryAfterMs ?? 0));
}

/** Attempts past the budget only ask the provider about the earlier ones; they never send. */
export function isLookupAttempt(policy: RetryPolicy, attempt: number): boolean {
  return attempt > policy.maxAttempts;
}

/**
 * When to ask the provider (again) whether an attempt whose outcome is unknown went out, once the
 * budget is spent; null when the lookups are spent too. One base delay later, not at once:
 * Twilio's message list is eventually consistent, so a message just created may not be listed yet.
 */
export function nextLookupAt(policy: RetryPolicy, attempt: number, now: Date): Date | null {
  if (attempt >= policy.maxAttempts + policy.maxLookups) return null;
  return new Date(now.getTime() + Math.min(policy.baseDelayMs, policy.maxDelayMs));
}
