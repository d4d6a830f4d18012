import type { ChannelName } from '../channels/channel.ts';

/**
 * Retry timing as a pure function of the attempt number, so it can be table-tested with any clock.
 * SMS keeps the seed's rule (3 retries, 5 minutes apart); other channels back off exponentially.
 */
export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  baseDelayMs: number;
  /** 1 = fixed delay; 2 = doubling. */
  factor: number;
  maxDelayMs: number;
}

export interface RetryConfig {
  SMS_MAX_RETRIES: number;
  SMS_RETRY_DELAY_MS: number;
}

export function retryPolicies(config: RetryConfig): Record<ChannelName, RetryPolicy> {
  return {
    sms: {
      maxAttempts: config.SMS_MAX_RETRIES + 1,
      baseDelayMs: config.SMS_RETRY_DELAY_MS,
      factor: 1,
      maxDelayMs: config.SMS_RETRY_DELAY_MS,
    },
    email: { maxAttempts: 5, baseDelayMs: 60_000, factor: 2, maxDelayMs: 3_600_000 },
    push: { maxAttempts: 5, baseDelayMs: 30_000, factor: 2, maxDelayMs: 1_800_000 },
    in_app: { maxAttempts: 3, baseDelayMs: 1_000, factor: 2, maxDelayMs: 10_000 },
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
