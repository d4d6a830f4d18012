/**
 * The routing state as plain JSON, for `GET /api/v1/sms/providers` and the console: per provider
 * its rotation, its weight in every route (resting and now), its window's counts and shares, and
 * the history of changes with their reasons. Times are ISO strings.
 */
import { failedTotal, type HealthWindow, requestTotal, unhealthyReason } from './health-window.ts';
import type { RequestOutcome } from './provider-answer.ts';
import type { Rotation } from './rotation.ts';
import type { ProviderName, RoutingConfig } from './routing-config.ts';
import { currentWeight, type WeightShift } from './weight-shift.ts';

export interface HistoryEntry {
  at: string;
  provider: ProviderName;
  /** `weight`: its shift in points (from → to); `rotation`: in / out / probing. */
  change: 'weight' | 'rotation';
  from: number | string;
  to: number | string;
  reason: string;
}

export interface ProviderSnapshot {
  name: ProviderName;
  state: 'in_rotation' | 'out' | 'probing';
  /** Out of rotation since, why, and when the next probe may go (null while in rotation). */
  outSince: string | null;
  outCause: string | null;
  nextProbeAt: string | null;
  healthy: boolean;
  /** Why the window says it is unhealthy, or null. */
  unhealthyReason: string | null;
  window: {
    ms: number;
    requests: Record<RequestOutcome, number>;
    delivered: number;
    slow: number;
    /** Shares 0–1, null with nothing to divide by. */
    slowShare: number | null;
    failedShare: number | null;
  };
  /** Points added to (or taken from) its resting weight in every route. */
  shift: number;
  weights: Array<{ route: string; resting: number; current: number }>;
}

export interface RoutingSnapshot {
  at: string;
  lastWeightChangeAt: string | null;
  providers: ProviderSnapshot[];
  /** Oldest first, the last `historySize` changes. */
  history: HistoryEntry[];
}

export interface SnapshotInput {
  now: number;
  config: RoutingConfig;
  providers: ReadonlyMap<ProviderName, { window: HealthWindow; rotation: Rotation }>;
  weights: WeightShift;
  history: readonly HistoryEntry[];
}

export function buildSnapshot({ now, config, providers, weights, history }: SnapshotInput): RoutingSnapshot {
  const iso = (ms: number) => new Date(ms).toISOString();
  const lastChange = weights.lastChangeAt;
  return {
    at: iso(now),
    lastWeightChangeAt: lastChange === null ? null : iso(lastChange),
    providers: [...providers].map(([name, { window, rotation }]) => {
      const counts = window.counts(now);
      const r = rotation.state;
      const why = r.state === 'in' ? unhealthyReason(counts, config.health) : null;
      const requests = requestTotal(counts);
      const shift = weights.shiftOf(name);
      return {
        name,
        state: r.state === 'in' ? 'in_rotation' : r.state,
        outSince: r.state === 'in' ? null : iso(r.since),
        outCause: r.state === 'in' ? null : r.cause,
        nextProbeAt: r.state === 'out' ? iso(r.probeAt) : null,
        healthy: r.state === 'in' && why === null,
        unhealthyReason: why,
        window: {
          ms: config.health.windowMs,
          requests: counts.requests,
          delivered: counts.delivered,
          slow: counts.slow,
          slowShare: counts.delivered > 0 ? counts.slow / counts.delivered : null,
          failedShare: requests > 0 ? failedTotal(counts) / requests : null,
        },
        shift,
        weights: Object.entries(config.routes).flatMap(([route, { providers: list }]) =>
          list
            .filter((p) => p.name === name)
            .map((p) => ({ route, resting: p.weight, current: currentWeight(p.weight, shift) })),
        ),
      };
    }),
    history: history.map((h) => ({ ...h })),
  };
}
