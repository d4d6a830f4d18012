/**
 * The SMS routing policy: which provider sends this SMS, and why. It is fed what the channel
 * measures (each provider request's answer, each delivery receipt's latency), keeps each provider's
 * health, rotation and weight by the rules of `health-window.ts`, `rotation.ts` and
 * `weight-shift.ts`, and picks by the destination country's route (`routing-config.ts`,
 * `strategies.ts`). Pure apart from the injected clock and random source: it sends nothing, stores
 * nothing, sets no timer; the rules are applied whenever it is asked or fed.
 *
 * It only chooses. Never sending twice is the channel's contract, which it must keep:
 * 1. At most one provider request in flight per delivery: ask `choose`, send, wait for the answer.
 * 2. After a known refusal (`classifyOutcome(answer) === 'known-refusal'`: nothing was sent) the
 *    delivery may fail over at once: `choose` again with every provider tried so far in `exclude`.
 * 3. After an unknown outcome (timeout, 5xx, dropped connection) the provider may have sent it:
 *    reconcile with THAT provider (Twilio: list by recipient and time; Vonage: its receipt or a
 *    search, or wait out a bounded window) and adopt what it sent; only once it is known not to have
 *    sent may `choose` be asked again, excluding it.
 * 4. A permanent recipient error (invalid number, landline, opted out at the carrier) is not failed
 *    over: another provider would fail the same way.
 * 5. Report every request's answer (`recordRequest`) and every delivery receipt (`recordDelivered`)
 *    to the provider that handled it, the probe's included: that is all the health it knows.
 *
 * Health is per process: each worker judges from what it sent itself.
 */
import type { Clock } from '../../../clock.ts';
import { validatePhone } from '../phone.ts';
import { HealthWindow, unhealthyReason } from './health-window.ts';
import { type ProviderAnswer, requestOutcome } from './provider-answer.ts';
import { Rotation } from './rotation.ts';
import {
  type ProviderName,
  type RouteCost,
  type RouteProvider,
  type RoutingConfig,
  routeCost,
  routeFor,
  type Strategy,
} from './routing-config.ts';
import { buildSnapshot, type HistoryEntry, type RoutingSnapshot } from './snapshot.ts';
import { type Candidate, type Pick, pick, type Random, type Standing, whyNot } from './strategies.ts';
import { currentWeight, WeightShift } from './weight-shift.ts';

export interface SmsRouterOptions {
  config: RoutingConfig;
  /** The providers this service has configured; a route's other providers are passed over. */
  providers: readonly ProviderName[];
  clock: Clock;
  /** Uniform in [0, 1) for `weighted`; tests pass a seeded one. */
  random?: Random;
}

export type Choice =
  | {
      ok: true;
      provider: ProviderName;
      /** The destination's country, and the route used (`default` for an unlisted country). */
      country: string | undefined;
      route: string;
      strategy: Strategy;
      /** This request is the probe of a provider out of rotation: report its answer. */
      probe: boolean;
      reason: string;
      cost: RouteCost;
    }
  | {
      ok: false;
      country: string | undefined;
      route: string;
      reason: string;
      /** When a provider may be back (its probe falls due), or null when none will be by itself. */
      retryAfterMs: number | null;
    };

interface ProviderState {
  window: HealthWindow;
  rotation: Rotation;
}

export class SmsRouter {
  readonly #config: RoutingConfig;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #providers = new Map<ProviderName, ProviderState>();
  readonly #weights: WeightShift;
  readonly #history: HistoryEntry[] = [];

  constructor(options: SmsRouterOptions) {
    this.#config = options.config;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.#weights = new WeightShift(options.config.health);
    const health = options.config.health;
    for (const name of options.providers) {
      this.#providers.set(name, { window: new HealthWindow(health), rotation: new Rotation(health) });
    }
  }

  /**
   * The provider for one SMS to `destination` (E.164, or an ISO country code) of `segments`
   * segments, never one of `exclude` (the providers already tried for this delivery).
   */
  choose(destination: string, segments: number, exclude: readonly ProviderName[] = []): Choice {
    const now = this.#refresh();
    const country = countryOf(destination);
    const { key, route } = routeFor(this.#config.routes, country);
    const usable = route.providers.filter((p) => this.#providers.has(p.name) && !exclude.includes(p.name));
    const candidates: Candidate[] = route.providers.map((provider) => ({
      provider,
      weight: currentWeight(provider.weight, this.#weights.shiftOf(provider.name)),
      standing: this.#standing(provider.name, exclude, now),
    }));
    const probe = this.#startProbe(usable, key, now);
    const picked =
      probe ??
      pick(route.strategy, key, candidates, this.#random) ??
      this.#lastResort(route.strategy, key, candidates, exclude);
    if (!picked) {
      const why = candidates.map((c) => `${c.provider.name} ${whyNot(c.standing)}`).join('; ');
      const reason = `no provider available for ${key}: ${why}`;
      return { ok: false, country, route: key, reason, retryAfterMs: this.#nextProbeIn(usable, now) };
    }
    return {
      ok: true,
      provider: picked.provider.name,
      country,
      route: key,
      strategy: route.strategy,
      probe: probe !== null,
      reason: picked.reason,
      cost: routeCost(picked.provider, segments),
    };
  }

  /** One request's answer, from the provider that was asked. */
  recordRequest(provider: ProviderName, answer: ProviderAnswer): void {
    const now = this.#clock.now();
    const state = this.#state(provider);
    const outcome = requestOutcome(answer);
    state.window.recordRequest(now, outcome);
    const change = state.rotation.record(now, outcome);
    if (change?.to === 'in') state.window.forgetRequests();
    this.#log(now, provider, 'rotation', change);
    this.#refresh();
  }

  /** A delivery receipt: the message `provider` sent at `sentAtMs` was delivered at `deliveredAtMs`. */
  recordDelivered(provider: ProviderName, sentAtMs: number, deliveredAtMs: number): void {
    this.#state(provider).window.recordDelivery(this.#clock.now(), Math.max(0, deliveredAtMs - sentAtMs));
    this.#refresh();
  }

  /** Every provider's state, weights, window and the change history, as plain JSON. */
  snapshot(): RoutingSnapshot {
    const now = this.#refresh();
    return buildSnapshot({
      now,
      config: this.#config,
      providers: this.#providers,
      weights: this.#weights,
      history: this.#history,
    });
  }

  /** The rules at this instant: overdue probes fail, then the weight rule runs. */
  #refresh(): number {
    const now = this.#clock.now();
    for (const [name, { rotation }] of this.#providers)
      this.#log(now, name, 'rotation', rotation.expireProbe(now));
    const inRotation = [...this.#providers]
      .filter(([, s]) => s.rotation.state.state === 'in')
      .map(([n]) => n);
    const unhealthy = new Map<ProviderName, string>();
    for (const name of inRotation) {
      const why = unhealthyReason(this.#state(name).window.counts(now), this.#config.health);
      if (why) unhealthy.set(name, why);
    }
    for (const change of this.#weights.evaluate(now, inRotation, unhealthy)) {
      this.#log(now, change.provider, 'weight', change);
    }
    return now;
  }

  /**
   * Every provider of the route out of rotation, none tried yet for this delivery: send through
   * them anyway, by the route's strategy. Holding the SMS back would only spend its attempts with
   * no request made (and a route with one provider would stop until each probe); the worker's
   * retry backoff paces them. After a refusal in the same attempt the rotation holds (retry later).
   */
  #lastResort(
    strategy: Strategy,
    key: string,
    candidates: Candidate[],
    exclude: readonly ProviderName[],
  ): Pick | null {
    if (exclude.length > 0) return null;
    const outOfRotation = (name: ProviderName) => {
      const rotation = this.#providers.get(name)?.rotation.state.state;
      return rotation !== undefined && rotation !== 'in';
    };
    const anyway = candidates.map((c) =>
      c.standing.kind === 'unavailable' && outOfRotation(c.provider.name)
        ? { ...c, standing: { kind: 'unhealthy' as const, why: c.standing.why } }
        : c,
    );
    const picked = pick(strategy, key, anyway, this.#random);
    return picked && { ...picked, reason: `last resort, none in rotation: ${picked.reason}` };
  }

  /** A usable provider whose probe is due takes this request as its probe, whatever the strategy. */
  #startProbe(usable: readonly RouteProvider[], route: string, now: number): Pick | null {
    const provider = usable.find((p) => this.#state(p.name).rotation.probeDue(now));
    if (!provider) return null;
    const rotation = this.#state(provider.name).rotation;
    const reason = `probe of ${provider.name} for ${route} (out of rotation: ${rotation.cause})`;
    this.#log(now, provider.name, 'rotation', rotation.startProbe(now));
    return { provider, reason };
  }

  #standing(name: ProviderName, exclude: readonly ProviderName[], now: number): Standing {
    const state = this.#providers.get(name);
    if (!state) return { kind: 'unavailable', why: 'not configured' };
    if (exclude.includes(name)) return { kind: 'unavailable', why: 'already tried' };
    const { rotation } = state;
    if (rotation.state.state !== 'in') {
      const probing = rotation.state.state === 'probing' ? ', probe in flight' : '';
      return { kind: 'unavailable', why: `out of rotation (${rotation.cause})${probing}` };
    }
    const why = unhealthyReason(state.window.counts(now), this.#config.health);
    return why ? { kind: 'unhealthy', why: `unhealthy (${why})` } : { kind: 'ready' };
  }

  /** The soonest a usable provider out of rotation gets its probe (or its probe times out). */
  #nextProbeIn(usable: ReadonlyArray<{ name: ProviderName }>, now: number): number | null {
    const due = usable.flatMap(({ name }) => {
      const r = this.#state(name).rotation.state;
      if (r.state === 'out') return [r.probeAt];
      if (r.state === 'probing') return [r.probeStartedAt + this.#config.health.probeTimeoutMs];
      return [];
    });
    return due.length > 0 ? Math.max(0, Math.min(...due) - now) : null;
  }

  #state(provider: ProviderName): ProviderState {
    const state = this.#providers.get(provider);
    if (!state) throw new Error(`SMS provider ${provider} is not one the router was given`);
    return state;
  }

  #log(
    now: number,
    provider: ProviderName,
    change: HistoryEntry['change'],
    entry: { from: number | string; to: number | string; reason: string } | null,
  ): void {
    if (!entry) return;
    const { from, to, reason } = entry;
    this.#history.push({ at: new Date(now).toISOString(), provider, change, from, to, reason });
    if (this.#history.length > this.#config.health.historySize) this.#history.shift();
  }
}

/** An E.164 number's country (as the cost estimate finds it), or an ISO code given as is. */
function countryOf(destination: string): string | undefined {
  if (/^[A-Z]{2}$/.test(destination)) return destination;
  const phone = validatePhone(destination);
  return phone.ok ? phone.country : undefined;
}
