/**
 * Fault injection: what the sandbox does to a create request, configured for the whole run and
 * overridden per destination number. Rates are probabilities drawn from one PRNG, seeded when the
 * run must be reproducible. Each rule targets one provider's API (`provider`, Twilio when unset, so
 * configurations written before Vonage keep their meaning) or both (`all`).
 */
import { z } from 'zod';
import { seededRandom } from '../seeded-random.ts';
import type { SandboxProvider } from './message-store.ts';
import { FAILURE_ERR_CODES, REFUSAL_STATUSES } from './vonage/errors.ts';

const rate = z.number().min(0).max(1);

const ruleShape = {
  /** `twilio` (the default), `vonage`, or `all`: which API the rule applies to. */
  provider: z.enum(['twilio', 'vonage', 'all']).optional(),
  /** Delay before the create response (the message is already created). */
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  /** HTTP 429 (Twilio 20429; Vonage's rate limit). Drawn from one roll with rate5xx and rateHang, so the rates add up. */
  rate429: rate.optional(),
  /** 500 or 503; no message is created. */
  rate5xx: rate.optional(),
  /** The message is created but the response never comes (until close): the "did it send?" case. */
  rateHang: rate.optional(),
  /** Twilio: synchronous rejection at create. */
  createError: z.union([z.literal(21610), z.literal(21211), z.literal(21614)]).optional(),
  /** Vonage: the `status` every part is refused with, on HTTP 200 (1 is "Throttled"). */
  vonageStatus: z.literal(REFUSAL_STATUSES).optional(),
  /**
   * Where the status walk ends; failures carry `errorCode` in the resource and the final callback.
   * On Vonage `undelivered` ends in a `failed` receipt and `failed` in a `rejected` one, with `vonageErrCode`.
   */
  finalStatus: z.enum(['delivered', 'undelivered', 'failed']).optional(),
  errorCode: z.union([z.literal(30003), z.literal(30005), z.literal(30006), z.literal(30007)]).optional(),
  /** Vonage: the receipt's `err-code` on a failed walk. */
  vonageErrCode: z.literal(FAILURE_ERR_CODES).optional(),
  /** Every status callback is sent twice (Twilio's delivery is at-least-once). */
  duplicateCallbacks: z.boolean().optional(),
  /** The final status callback is sent before the `sent` one. */
  reorderCallbacks: z.boolean().optional(),
};

type RuleShape = { [K in keyof typeof ruleShape]?: z.infer<(typeof ruleShape)[K]> };

function targets(rule: RuleShape, provider: SandboxProvider): boolean {
  const target = rule.provider ?? 'twilio';
  return target === 'all' || target === provider;
}

/** One provider's codes on a rule that never reaches that provider would silently do nothing. */
function codesFitProvider(rule: RuleShape, ctx: z.RefinementCtx): void {
  const misplaced = [
    ...(targets(rule, 'twilio') ? [] : (['createError', 'errorCode'] as const)),
    ...(targets(rule, 'vonage') ? [] : (['vonageStatus', 'vonageErrCode'] as const)),
  ].filter((k) => rule[k] !== undefined);
  for (const key of misplaced) {
    ctx.addIssue({
      code: 'custom',
      path: [key],
      message: `${key} does not apply to provider ${rule.provider ?? 'twilio'}`,
    });
  }
}

export const faultRuleSchema = z.strictObject(ruleShape).superRefine(codesFitProvider);

export const faultConfigSchema = z
  .strictObject({
    ...ruleShape,
    seed: z.number().int().optional(),
    byNumber: z.record(z.string(), faultRuleSchema).optional(),
  })
  .superRefine(codesFitProvider);

export type FaultRule = z.infer<typeof faultRuleSchema>;
export type FaultConfig = z.infer<typeof faultConfigSchema>;

interface ProviderRules {
  defaults: FaultRule;
  byNumber: Map<string, FaultRule>;
}

const NO_RULES: ProviderRules = { defaults: {}, byNumber: new Map() };

/** The transport-level outcome of one create request. */
export type CreateOutcome = 'ok' | 'rate-limited' | 'server-error' | 'hang';

export class FaultInjector {
  #config: FaultConfig = {};
  // Merged once per configuration and provider so the hot path does a map lookup, not an object spread.
  #rules: Record<SandboxProvider, ProviderRules> = { twilio: NO_RULES, vonage: NO_RULES };
  #random: () => number = Math.random;

  constructor(config: FaultConfig = {}) {
    this.set(config);
  }

  /** Replaces the whole configuration (and restarts the seeded sequence). */
  set(config: FaultConfig): void {
    const { seed, byNumber, ...defaults } = faultConfigSchema.parse(config);
    this.#config = config;
    const rulesFor = (provider: SandboxProvider): ProviderRules => {
      // A provider's number rule sits on the run-wide rule only when that one reaches it too.
      const base = targets(defaults, provider) ? defaults : {};
      const numbers = Object.entries(byNumber ?? {}).filter(([, rule]) => targets(rule, provider));
      return { defaults: base, byNumber: new Map(numbers.map(([to, rule]) => [to, { ...base, ...rule }])) };
    };
    this.#rules = { twilio: rulesFor('twilio'), vonage: rulesFor('vonage') };
    this.#random = seed === undefined ? Math.random : seededRandom(seed);
  }

  get config(): FaultConfig {
    return this.#config;
  }

  /** The rule for a create request to `to` (E.164) at `provider`'s API. */
  ruleFor(to: string, provider: SandboxProvider): FaultRule {
    const rules = this.#rules[provider];
    return rules.byNumber.get(to) ?? rules.defaults;
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
