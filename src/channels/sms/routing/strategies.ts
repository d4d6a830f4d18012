/**
 * The three strategies, as pure picks over a route's providers in their configured order, each
 * already judged (ready, unhealthy, or unavailable and why), with the reason a person can read:
 *   - `cheapest`: the lowest price among the healthy ones; ties go to the higher current weight,
 *     then to the configured order;
 *   - `weighted`: at random in proportion to the current weights (GOV.UK Notify's way);
 *   - `priority`: the first healthy one in order.
 * When every available provider is unhealthy, cheapest and priority still pick among them (a slow
 * provider beats none); weighted needs no such rule, its weights already carry the health.
 */
import type { RouteProvider, Strategy } from './routing-config.ts';

export type Standing =
  | { kind: 'ready' }
  | { kind: 'unhealthy'; why: string }
  /** Out of rotation, already tried for this delivery, or not configured: never picked. */
  | { kind: 'unavailable'; why: string };

export interface Candidate {
  provider: RouteProvider;
  /** Its current weight in this route. */
  weight: number;
  standing: Standing;
}

export interface Pick {
  provider: RouteProvider;
  reason: string;
}

/** A source of uniform numbers in [0, 1), like Math.random. */
export type Random = () => number;

export function pick(
  strategy: Strategy,
  route: string,
  candidates: Candidate[],
  random: Random,
): Pick | null {
  const available = candidates.filter((c) => c.standing.kind !== 'unavailable');
  if (available.length === 0) return null;
  const ready = available.filter((c) => c.standing.kind === 'ready');
  const pool = ready.length > 0 ? ready : available;
  const degraded = ready.length > 0 ? '' : ' (none healthy)';
  let chosen: Candidate;
  let reason: string;
  switch (strategy) {
    case 'cheapest': {
      chosen = pool.reduce((best, c) =>
        c.provider.perSegment < best.provider.perSegment ||
        (c.provider.perSegment === best.provider.perSegment && c.weight > best.weight)
          ? c
          : best,
      );
      const price = formatPrice(chosen.provider.perSegment, chosen.provider.currency);
      reason = `cheapest${degraded ? '' : ' healthy'} for ${route}${degraded}: ${chosen.provider.name} ${price}/segment`;
      break;
    }
    case 'weighted': {
      chosen = weighted(available, random);
      const split = available.map((c) => `${c.provider.name} ${round(c.weight)}`).join('/');
      reason = `weighted for ${route} ${split} → ${chosen.provider.name}`;
      break;
    }
    case 'priority':
      chosen = pool[0]!;
      reason = `priority for ${route}${degraded}: ${chosen.provider.name}`;
      break;
  }
  // What was passed over and why: for priority the ones before the pick, otherwise all of them.
  const at = candidates.indexOf(chosen);
  const passedOver = candidates.flatMap((c, i) =>
    c.standing.kind === 'ready' || i === at || (strategy === 'priority' && i > at)
      ? []
      : [`${c.provider.name} ${whyNot(c.standing)}`],
  );
  if (passedOver.length > 0) reason += ` (${passedOver.join('; ')})`;
  return { provider: chosen.provider, reason };
}

/** Why a provider was not the pick by its standing ('' when it was ready). */
export function whyNot(standing: Standing): string {
  return standing.kind === 'ready' ? '' : standing.why;
}

/** In proportion to the weights (rounding at the very top goes to the last weighted one); all at 0 leaves the first in order. */
function weighted(available: Candidate[], random: Random): Candidate {
  const total = available.reduce((sum, c) => sum + c.weight, 0);
  let r = random() * total;
  for (const c of available) {
    if (r < c.weight) return c;
    r -= c.weight;
  }
  return available.findLast((c) => c.weight > 0) ?? available[0]!;
}

export function formatPrice(amount: number, currency: string): string {
  return new Intl.NumberFormat('en', {
    style: 'currency',
    currency,
    minimumFractionDigits: 2,
    maximumFractionDigits: 6,
  }).format(amount);
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
