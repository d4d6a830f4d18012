/**
 * One provider's recent health: request outcomes and delivery latencies over a sliding window, kept
 * as counts in time buckets (a fifteenth of the window each) so memory stays bounded at any volume;
 * the window therefore slides by one bucket at a time. Pure: the caller passes the time.
 */
import { FAILED_OUTCOMES, REQUEST_OUTCOMES, type RequestOutcome } from './provider-answer.ts';
import type { HealthSettings } from './routing-config.ts';

export interface WindowCounts {
  requests: Record<RequestOutcome, number>;
  /** Messages whose delivery receipt arrived in the window. */
  delivered: number;
  /** Of those, the ones slower than `slowDeliveryMs` from sent to delivered. */
  slow: number;
}

const BUCKETS = 15;

function emptyCounts(): WindowCounts {
  const requests = Object.fromEntries(REQUEST_OUTCOMES.map((o) => [o, 0])) as Record<RequestOutcome, number>;
  return { requests, delivered: 0, slow: 0 };
}

export class HealthWindow {
  readonly #bucketMs: number;
  readonly #slowDeliveryMs: number;
  /** Oldest first; a bucket is dropped once it has slid out of the window. */
  #buckets: Array<{ start: number; counts: WindowCounts }> = [];

  constructor(settings: Pick<HealthSettings, 'windowMs' | 'slowDeliveryMs'>) {
    this.#bucketMs = settings.windowMs / BUCKETS;
    this.#slowDeliveryMs = settings.slowDeliveryMs;
  }

  recordRequest(now: number, outcome: RequestOutcome): void {
    this.#bucket(now).requests[outcome]++;
  }

  /**
   * Forget the requests counted so far (delivery latencies stay): a provider back in rotation by
   * its probe has answered for the failures that took it out. Kept, they would hold it unhealthy
   * (and, under `priority` or `cheapest`, without traffic to dilute them) for a whole window.
   */
  forgetRequests(): void {
    for (const { counts } of this.#buckets) counts.requests = emptyCounts().requests;
  }

  /** A delivery receipt: `latencyMs` from sent to delivered. */
  recordDelivery(now: number, latencyMs: number): void {
    const counts = this.#bucket(now);
    counts.delivered++;
    if (latencyMs > this.#slowDeliveryMs) counts.slow++;
  }

  counts(now: number): WindowCounts {
    this.#slide(now);
    const sum = emptyCounts();
    for (const { counts } of this.#buckets) {
      for (const o of REQUEST_OUTCOMES) sum.requests[o] += counts.requests[o];
      sum.delivered += counts.delivered;
      sum.slow += counts.slow;
    }
    return sum;
  }

  #bucket(now: number): WindowCounts {
    this.#slide(now);
    const start = Math.floor(now / this.#bucketMs) * this.#bucketMs;
    const last = this.#buckets.at(-1);
    if (last && last.start === start) return last.counts;
    const counts = emptyCounts();
    this.#buckets.push({ start, counts });
    return counts;
  }

  #slide(now: number): void {
    const oldest = Math.floor(now / this.#bucketMs) * this.#bucketMs - (BUCKETS - 1) * this.#bucketMs;
    while (this.#buckets.length > 0 && this.#buckets[0]!.start < oldest) this.#buckets.shift();
  }
}

export function requestTotal(counts: WindowCounts): number {
  return REQUEST_OUTCOMES.reduce((n, o) => n + counts.requests[o], 0);
}

export function failedTotal(counts: WindowCounts): number {
  return REQUEST_OUTCOMES.reduce((n, o) => n + (FAILED_OUTCOMES.has(o) ? counts.requests[o] : 0), 0);
}

/**
 * Why the window says the provider is unhealthy, or null: GOV.UK Notify's slow-delivery rule
 * (≥ slowShare of the delivered messages slower than slowDeliveryMs), or too many failed requests.
 * Too few messages in the window to judge is healthy.
 */
export function unhealthyReason(counts: WindowCounts, s: HealthSettings): string | null {
  const minutes = `${round(s.windowMs / 60_000)} min`;
  if (counts.delivered >= s.minDelivered && counts.slow / counts.delivered >= s.slowShare) {
    const pct = percent(counts.slow / counts.delivered);
    return `${pct} of ${counts.delivered} delivered in ${minutes} took > ${round(s.slowDeliveryMs / 60_000)} min`;
  }
  const total = requestTotal(counts);
  const failed = failedTotal(counts);
  if (total >= s.minRequests && failed / total >= s.failedShare) {
    const kinds = REQUEST_OUTCOMES.filter((o) => FAILED_OUTCOMES.has(o) && counts.requests[o] > 0)
      .map((o) => `${o} ${counts.requests[o]}`)
      .join(', ');
    return `${percent(failed / total)} of ${total} requests in ${minutes} failed (${kinds})`;
  }
  return null;
}

export function percent(share: number): string {
  return `${round(share * 100)} %`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
