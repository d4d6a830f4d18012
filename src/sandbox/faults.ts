/**
 * Fault injection: what the sandbox does to a create request, configured for the whole run and
 * overridden per destination number. Rates are probabilities drawn from one PRNG, seeded when the
 * run must be reproducible.
 */
import { z } from 'zod';

const rate = z.number().min(0).max(1);

export const faultRuleSchema = z.strictObject({
  /** Delay before the create response (the message is already created). */
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  /** 429 / 20429. Drawn from one roll with rate5xx and rateHang, so the rates add up. */
  rate429: rate.optional(),
  /** 500 or 503; no message is created. */
  rate5xx: rate.optional(),
  /** The message is created but the response never comes (until close): the "did it send?" case. */
  rateHang: rate.optional(),
  /** Synchronous rejection at create. */
  createError: z.union([z.literal(21610), z.literal(21211), z.literal(21614)]).optional(),
  /** Where the status walk ends; failures carry `errorCode` in the resource and the final callback. */
  finalStatus: z.enum(['delivered', 'undelivered', 'failed']).optional(),
  errorCode: z.union([z.literal(30003), z.literal(30005), z.literal(30006), z.literal(30007)]).optional(),
  /** Every status callback is sent twice (Twilio's delivery is at-least-once). */
  duplicateCallbacks: z.boolean().optional(),
  /** The final status callback is sent before the `sent` one. */
  reorderCallbacks: z.boolean().optional(),
});

export const faultConfigSchema = faultRuleSchema.extend({
  seed: z.number().int().optional(),
  byNumber: z.record(z.string(), faultRuleSchema).optional(),
});

export type FaultRule = z.infer<typeof faultRuleSchema>;
export type FaultConfig = z.infer<typeof faultConfigSchema>;

/** The transport-level outcome of one create request. */
export type CreateOutcome = 'ok' | 'rate-limited' | 'server-error' | 'hang';

/** Mulberry32: tiny, fast and good enough to make a fault sequence reproducible. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  #config: FaultConfig = {};
  #defaults: FaultRule = {};
  // Merged once per configuration so the hot path does a map lookup, not an object spread.
  #byNumber = new Map<string, FaultRule>();
  #random: () => number = Math.random;

  constructor(config: FaultConfig = {}) {
    this.set(config);
  }

  /** Replaces the whole configuration (and restarts the seeded sequence). */
  set(config: FaultConfig): void {
    const { seed, byNumber, ...defaults } = faultConfigSchema.parse(config);
    this.#config = config;
    this.#defaults = defaults;
    this.#byNumber = new Map(
      Object.entries(byNumber ?? {}).map(([to, rule]) => [to, { ...defaults, ...rule }]),
    );
    this.#random = seed === undefined ? Math.random : seededRandom(seed);
  }

  get config(): FaultConfig {
    return this.#config;
  }

  ruleFor(to: string): FaultRule {
    return this.#byNumber.get(to) ?? this.#defaults;
  }

  roll(rule: FaultRule): CreateOutcome {
    const r429 = rule.rate429 ?? 0;
    const r5xx = rule.rate5xx ?? 0;
    const rHang = rule.rateHang ?? 0;
    if (r429 + r5xx + rHang === 0) return 'ok';
    const r = this.#random();
    if (r < r429) return 'rate-limited';
    if (r < r429 + r5xx) return 'server-error';
    if (r < r429 + r5xx + rHang) return 'hang';
    return 'ok';
  }

  /** A fair coin from the same sequence (500 vs 503), so seeded runs stay reproducible. */
  coin(): boolean {
    return this.#random() < 0.5;
  }
}
