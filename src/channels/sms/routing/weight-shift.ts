/**
 * GOV.UK Notify's weight rule, for any number of providers: when a provider in rotation is
 * unhealthy, `shiftPoints` of its weight move to the healthy ones (shared equally); once all are
 * healthy, every shift drifts back `shiftPoints` towards the resting weights; and no change happens
 * within `minChangeIntervalMs` of the previous one, which also paces the drift. Nowhere healthy to
 * move weight to means no move. The shift is one number per provider (points added to, or taken
 * from, its resting weight in every route), so one change reads the same in every country.
 */
import type { HealthSettings, ProviderName } from './routing-config.ts';

export interface WeightChange {
  provider: ProviderName;
  /** The provider's shift in points before and after (0 = at its resting weights). */
  from: number;
  to: number;
  reason: string;
}

/** A shift never takes a provider further than this from rest (a weight is at most 100 points). */
const MAX_SHIFT = 100;

export class WeightShift {
  readonly #s: Pick<HealthSettings, 'shiftPoints' | 'minChangeIntervalMs'>;
  readonly #shift = new Map<ProviderName, number>();
  #lastChangeAt = Number.NEGATIVE_INFINITY;

  constructor(settings: Pick<HealthSettings, 'shiftPoints' | 'minChangeIntervalMs'>) {
    this.#s = settings;
  }

  shiftOf(provider: ProviderName): number {
    return this.#shift.get(provider) ?? 0;
  }

  get lastChangeAt(): number | null {
    return Number.isFinite(this.#lastChangeAt) ? this.#lastChangeAt : null;
  }

  /**
   * Apply the rule at `now`: `unhealthy` maps each unhealthy provider in rotation to why, `inRotation`
   * lists every provider in rotation. Returns the changes made (none within the interval).
   */
  evaluate(
    now: number,
    inRotation: readonly ProviderName[],
    unhealthy: ReadonlyMap<ProviderName, string>,
  ): WeightChange[] {
    if (now - this.#lastChangeAt < this.#s.minChangeIntervalMs) return [];
    const before = new Map(this.#shift);
    const reasons = new Map<ProviderName, string>();
    const healthy = inRotation.filter((p) => !unhealthy.has(p));
    if (unhealthy.size > 0) {
      if (healthy.length === 0) return [];
      for (const [provider, why] of unhealthy) {
        const take = Math.min(this.#s.shiftPoints, MAX_SHIFT + this.shiftOf(provider));
        if (take <= 0) continue;
        this.#shift.set(provider, this.shiftOf(provider) - take);
        reasons.set(provider, `unhealthy: ${why}`);
        for (const gainer of healthy) {
          this.#shift.set(gainer, this.shiftOf(gainer) + take / healthy.length);
          reasons.set(gainer, reasons.get(gainer) ?? `takes weight from ${provider}`);
        }
      }
    } else {
      for (const [provider, shift] of this.#shift) {
        if (shift === 0) continue;
        const step = Math.min(this.#s.shiftPoints, Math.abs(shift));
        this.#shift.set(provider, shift - Math.sign(shift) * step);
        reasons.set(provider, 'all healthy: drifts back towards its resting weights');
      }
    }
    const changes: WeightChange[] = [];
    for (const [provider, reason] of reasons) {
      const from = before.get(provider) ?? 0;
      const to = this.shiftOf(provider);
      if (from !== to) changes.push({ provider, from, to, reason });
    }
    if (changes.length > 0) this.#lastChangeAt = now;
    return changes;
  }
}

/** A provider's weight in a route now: its resting weight plus its shift, never below 0. */
export function currentWeight(resting: number, shift: number): number {
  return Math.max(0, resting + shift);
}
