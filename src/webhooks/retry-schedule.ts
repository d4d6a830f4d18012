/**
 * The Standard Webhooks retry schedule: the first attempt at once, then after 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 14 h, 20 h and 24 h; after the tenth failed attempt the message is dead.
 */
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Delay before attempt n+1 (index n = attempts made so far): [0] is the first, immediate, send. */
export const RETRY_DELAYS_MS: readonly number[] = [
  0,
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  14 * HOUR,
  20 * HOUR,
  24 * HOUR,
];

export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length;

/** ±10 %: endpoints that failed together (an outage) do not come back to a thundering herd. */
export const JITTER = 0.1;

/** A receiver's Retry-After beyond this is taken as this: a reply cannot park a message for good. */
export const MAX_RETRY_AFTER_MS = 24 * HOUR;

/**
 * When to try again after `attempts` failed attempts, or null when that was the last. `random` is
 * uniform in [0, 1) (injected: a test passes a fixed or seeded source); 0.5 is no jitter. A
 * Retry-After later than the schedule's delay is honoured, an earlier one is not (the schedule is
 * the floor, so a receiver cannot make us hammer it).
 */
export function nextAttemptDelay(
  attempts: number,
  random: () => number,
  retryAfterMs: number | null = null,
): number | null {
  if (attempts >= MAX_ATTEMPTS) return null;
  const base = RETRY_DELAYS_MS[attempts]!;
  const jittered = Math.round(base * (1 + (random() * 2 - 1) * JITTER));
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

/** `Retry-After: 120` or an HTTP date, as milliseconds from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * SECOND;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
