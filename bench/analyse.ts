/**
 * From what the run left behind — the service's own rows (creation, delivery and callback
 * timestamps) and the sandbox's receipt times, joined on the provider message id — to the figures.
 * Pure: no I/O, so the method can be read (and tested) in one place.
 */
import type { BenchChannel } from './options.ts';

export interface NotificationRow {
  createdMs: number;
  smsSid: string | null;
  inAppMs: number | null;
  emailMs: number | null;
}

export interface Window {
  from: number;
  to: number;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface TimelinePoint {
  /** Seconds since the phase started. */
  t: number;
  accepted: number;
  smsReceived: number;
  completed: number;
  /** Notifications accepted and not yet complete at the end of this second. */
  queueDepth: number;
  smsLatencyP50: number | null;
  smsLatencyP99: number | null;
}

export interface PhaseFigures {
  acceptedPerSecond: number;
  /** Notifications whose every channel finished inside the window, per second. */
  endToEndPerSecond: number;
  smsLatencyMs: Percentiles;
  inAppLatencyMs: Percentiles;
  endToEndLatencyMs: Percentiles;
  /** Accepted in the window and never completed (a failed or lost delivery). */
  incomplete: number;
  maxQueueDepth: number;
  timeline: TimelinePoint[];
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1)! };
}

/** When a notification is complete: the last of its channels (SMS counts at the sandbox's receipt). */
export function completion(
  row: NotificationRow,
  smsAt: number | undefined,
  channels: BenchChannel[],
): number | null {
  let done = row.createdMs;
  for (const c of channels) {
    const at = c === 'sms' ? smsAt : c === 'in_app' ? row.inAppMs : row.emailMs;
    if (at === undefined || at === null) return null;
    done = Math.max(done, at);
  }
  return done;
}

export function analysePhase(
  rows: NotificationRow[],
  receipts: ReadonlyMap<string, number>,
  channels: BenchChannel[],
  phase: { startedAt: number; measured: Window },
): PhaseFigures {
  const { measured } = phase;
  const inWindow = (t: number) => t >= measured.from && t < measured.to;
  const seconds = (measured.to - measured.from) / 1000;
  const sms: number[] = [];
  const inApp: number[] = [];
  const e2e: number[] = [];
  let accepted = 0;
  let completedInWindow = 0;
  let incomplete = 0;
  const buckets = new Map<number, { accepted: number; sms: number; completed: number; lat: number[] }>();
  const bucket = (t: number) => {
    const k = Math.floor((t - phase.startedAt) / 1000);
    let b = buckets.get(k);
    if (!b) {
      b = { accepted: 0, sms: 0, completed: 0, lat: [] };
      buckets.set(k, b);
    }
    return b;
  };
  for (const row of rows) {
    const smsAt = row.smsSid === null ? undefined : receipts.get(row.smsSid);
    const done = completion(row, smsAt, channels);
    const created = bucket(row.createdMs);
    created.accepted++;
    if (smsAt !== undefined) {
      bucket(smsAt).sms++;
      created.lat.push(smsAt - row.createdMs);
    }
    if (done !== null) {
      bucket(done).completed++;
      if (inWindow(done)) completedInWindow++;
    }
    if (!inWindow(row.createdMs)) continue;
    accepted++;
    if (done === null) incomplete++;
    else e2e.push(done - row.createdMs);
    if (smsAt !== undefined) sms.push(smsAt - row.createdMs);
    if (row.inAppMs !== null) inApp.push(row.inAppMs - row.createdMs);
  }
  const timeline: TimelinePoint[] = [];
  const last = Math.max(0, ...buckets.keys());
  let depth = 0;
  for (let t = 0; t <= last; t++) {
    const b = buckets.get(t) ?? { accepted: 0, sms: 0, completed: 0, lat: [] };
    depth += b.accepted - b.completed;
    const lat = percentiles(b.lat);
    timeline.push({
      t,
      accepted: b.accepted,
      smsReceived: b.sms,
      completed: b.completed,
      queueDepth: depth,
      smsLatencyP50: lat.count ? lat.p50 : null,
      smsLatencyP99: lat.count ? lat.p99 : null,
    });
  }
  return {
    acceptedPerSecond: accepted / seconds,
    endToEndPerSecond: completedInWindow / seconds,
    smsLatencyMs: percentiles(sms),
    inAppLatencyMs: percentiles(inApp),
    endToEndLatencyMs: percentiles(e2e),
    incomplete,
    maxQueueDepth: Math.max(0, ...timeline.map((p) => p.queueDepth)),
    timeline,
  };
}

/** A batch request of the bulk phase, as the load generator saw it (bench/bulk-load.ts). */
export interface BatchAnswered {
  /** When the answer arrived (epoch ms). */
  at: number;
  ms: number;
  /** The batch's HTTP status: 200 with per-item results, or refused whole (a 503 under overload). */
  status: number;
  created: number;
}

export interface BulkFigures {
  /**
   * Items answered 201 per second of the measured window. A batch takes seconds, so counting whole
   * batches by their answer would be one batch per client off at the window's start: each batch's
   * items count for the share of its request time inside the window.
   */
  acceptedPerSecond: number;
  /** Per batch request answered 200 inside the measured window (a refusal is quick: not mixed in). */
  batchLatencyMs: Percentiles;
  /**
   * The phase's notifications as the service stored them (created at or after the phase's start:
   * the phase before it had drained), from the first one's `created_at` to the moment the last
   * one's last channel finished.
   */
  drain: {
    notifications: number;
    seconds: number;
    perSecond: number;
    /** Stored and never completed (a failed or lost delivery). */
    incomplete: number;
  };
}

export function analyseBulk(
  batches: BatchAnswered[],
  rows: NotificationRow[],
  receipts: ReadonlyMap<string, number>,
  channels: BenchChannel[],
  measured: Window,
): BulkFigures {
  let created = 0;
  for (const b of batches) {
    const overlap = Math.min(b.at, measured.to) - Math.max(b.at - b.ms, measured.from);
    if (overlap > 0) created += b.created * Math.min(1, overlap / b.ms);
  }
  // The end is included: the last batch is answered the millisecond the load generator stops.
  const inWindow = batches.filter((b) => b.at >= measured.from && b.at <= measured.to);
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  let completed = 0;
  for (const row of rows) {
    first = Math.min(first, row.createdMs);
    const done = completion(row, row.smsSid === null ? undefined : receipts.get(row.smsSid), channels);
    if (done === null) continue;
    completed++;
    last = Math.max(last, done);
  }
  const seconds = completed > 0 ? (last - first) / 1000 : 0;
  return {
    acceptedPerSecond: created / ((measured.to - measured.from) / 1000),
    batchLatencyMs: percentiles(inWindow.filter((b) => b.status === 200).map((b) => b.ms)),
    drain: {
      notifications: completed,
      seconds,
      perSecond: seconds > 0 ? completed / seconds : 0,
      incomplete: rows.length - completed,
    },
  };
}
