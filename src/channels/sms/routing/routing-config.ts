/**
 * The SMS routing configuration: per destination country (ISO 3166-1 alpha-2, plus `default` for
 * every country not listed) the providers allowed, in priority order, each with its resting weight
 * and price per segment, and the strategy that picks among them; beside it the health thresholds.
 * Parsed once at start-up from JSON (`{"routes": {...}, "health": {...}}`); an error names the
 * country, the provider and the field.
 */
import { z } from 'zod';
import { ConfigError } from '../../../config.ts';
import { DEFAULT_SMS_PRICES, estimateCostInCountry, type SmsCostEstimate } from '../cost.ts';

/** The providers the service has channels for; any other name is allowed so a third can be added. */
export type ProviderName = 'twilio' | 'vonage' | (string & {});

export type Strategy = 'cheapest' | 'weighted' | 'priority';

export interface RouteProvider {
  name: ProviderName;
  /** Share of `weighted` traffic at rest, in points (a route's weights need not sum to 100). */
  weight: number;
  perSegment: number;
  currency: string;
}

export interface Route {
  strategy: Strategy;
  /** In priority order: `priority` tries them in this order, and it breaks the last ties. */
  providers: RouteProvider[];
}

export type RouteTable = Record<string, Route> & { default: Route };

export interface HealthSettings {
  /** The sliding window that health is measured over. */
  windowMs: number;
  /** A delivery slower than this (sent → delivered) counts as slow. */
  slowDeliveryMs: number;
  /** This share of a window's delivered messages being slow marks the provider unhealthy. */
  slowShare: number;
  /** Fewer delivered messages than this in the window say nothing about speed. */
  minDelivered: number;
  /** This share of a window's requests failing (errors, timeouts, 429s, 5xx) marks it unhealthy. */
  failedShare: number;
  /** Fewer requests than this in the window say nothing about failures. */
  minRequests: number;
  /** Points of weight moved away from an unhealthy provider, and back per drift step. */
  shiftPoints: number;
  /** No weight change within this long of the previous one (so also the drift's pace). */
  minChangeIntervalMs: number;
  /** This many 5xx answers or timeouts in a row take a provider out of rotation. */
  consecutiveServerFailures: number;
  /** The first wait before a provider out of rotation gets its probe; doubled per failed probe. */
  probeBackoffMs: number;
  probeBackoffMaxMs: number;
  /** A probe whose outcome was not reported within this long counts as failed. */
  probeTimeoutMs: number;
  /** Entries kept in the change history (oldest dropped first). */
  historySize: number;
}

const MINUTE = 60_000;

/** GOV.UK Notify's rule (15 % slow over 15 min, 10 points, 5 min apart) and our outright-failure rule. */
export const DEFAULT_HEALTH: HealthSettings = {
  windowMs: 15 * MINUTE,
  slowDeliveryMs: 5 * MINUTE,
  slowShare: 0.15,
  minDelivered: 10,
  failedShare: 0.15,
  minRequests: 10,
  shiftPoints: 10,
  minChangeIntervalMs: 5 * MINUTE,
  consecutiveServerFailures: 3,
  probeBackoffMs: 30_000,
  probeBackoffMaxMs: 5 * MINUTE,
  probeTimeoutMs: MINUTE,
  historySize: 200,
};

const twilio = (country: 'IN' | 'US' | 'default') => ({
  name: 'twilio',
  perSegment: DEFAULT_SMS_PRICES[country]!.perSegment,
  currency: DEFAULT_SMS_PRICES[country]!.currency,
});

/**
 * Twilio's prices are the cost estimate's (`cost.ts`). Vonage's are PLACEHOLDERS of the right order
 * (Vonage's list price for India is far below Twilio's, for the US about the same): replace them
 * with the contract's figures.
 */
export const DEFAULT_ROUTES: RouteTable = {
  IN: {
    strategy: 'cheapest',
    providers: [
      { name: 'vonage', weight: 50, perSegment: 0.0455, currency: 'USD' },
      { ...twilio('IN'), weight: 50 },
    ],
  },
  US: {
    strategy: 'weighted',
    providers: [
      { ...twilio('US'), weight: 70 },
      { name: 'vonage', weight: 30, perSegment: 0.0091, currency: 'USD' },
    ],
  },
  default: {
    strategy: 'priority',
    providers: [
      { ...twilio('default'), weight: 100 },
      { name: 'vonage', weight: 0, perSegment: 0.1, currency: 'USD' },
    ],
  },
};

const providerSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'must be a lowercase provider name such as twilio'),
  weight: z.number().min(0, 'must be 0 or more').max(100, 'must be at most 100 points'),
  perSegment: z.number().positive('must be positive').max(10, 'is implausibly high for one SMS segment'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
});

const routeSchema = z
  .strictObject({
    strategy: z.enum(['cheapest', 'weighted', 'priority']),
    providers: z.array(providerSchema).min(1, 'must name at least one provider'),
  })
  .superRefine((route, ctx) => {
    const names = route.providers.map((p) => p.name);
    for (const [i, name] of names.entries()) {
      if (names.indexOf(name) !== i) {
        ctx.addIssue({ code: 'custom', path: ['providers', i, 'name'], message: `${name} is listed twice` });
      }
    }
    if (route.strategy === 'weighted' && route.providers.every((p) => p.weight === 0)) {
      ctx.addIssue({ code: 'custom', path: ['providers'], message: 'weighted needs a weight above 0' });
    }
  });

const routesSchema = z.record(z.string(), routeSchema).superRefine((routes, ctx) => {
  for (const key of Object.keys(routes)) {
    if (!/^([A-Z]{2}|default)$/.test(key)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'must be an ISO country code (IN, US) or "default"',
      });
    }
  }
  if (!routes['default']) {
    ctx.addIssue({ code: 'custom', path: [], message: 'a "default" route is required for other countries' });
  }
  // `cheapest` compares prices and spend is summed across countries: both need one currency.
  const currencies = new Set(Object.values(routes).flatMap((r) => r.providers.map((p) => p.currency)));
  if (currencies.size > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [],
      message: `all prices must use one currency, not ${[...currencies]}`,
    });
  }
});

const positive = z.number().positive('must be positive');
const share = z.number().gt(0, 'must be above 0').max(1, 'is a share: at most 1');
const count = z.number().int('must be a whole number').min(1, 'must be at least 1');

const healthSchema = z
  .strictObject({
    windowMs: positive,
    slowDeliveryMs: positive,
    slowShare: share,
    minDelivered: count,
    failedShare: share,
    minRequests: count,
    shiftPoints: positive.max(100, 'must be at most 100 points'),
    minChangeIntervalMs: z.number().min(0, 'must be 0 or more'),
    consecutiveServerFailures: count,
    probeBackoffMs: positive,
    probeBackoffMaxMs: positive,
    probeTimeoutMs: positive,
    historySize: count,
  })
  .partial();

const configSchema = z.strictObject({ routes: routesSchema, health: healthSchema.optional() });

export interface RoutingConfig {
  routes: RouteTable;
  health: HealthSettings;
}

export const DEFAULT_ROUTING: RoutingConfig = { routes: DEFAULT_ROUTES, health: DEFAULT_HEALTH };

/** Parse `{"routes": {"IN": {...}, "default": {...}}, "health": {...}}`; health fields default one by one. */
export function parseRoutingConfig(json: string): RoutingConfig {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`SMS routing config is not valid JSON: ${(err as Error).message}`);
  }
  const result = configSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${where(i.path, data)}: ${i.message}`);
    throw new ConfigError(`SMS routing config is invalid: ${issues.join('; ')}`);
  }
  const health = { ...DEFAULT_HEALTH, ...result.data.health };
  if (health.probeBackoffMaxMs < health.probeBackoffMs) {
    throw new ConfigError(
      'SMS routing config is invalid: health.probeBackoffMaxMs: must be ≥ probeBackoffMs',
    );
  }
  return { routes: result.data.routes as RouteTable, health };
}

/** `routes.IN.providers[1] (vonage).perSegment`: the country, the provider by name, the field. */
function where(path: ReadonlyArray<PropertyKey>, data: unknown): string {
  if (path.length === 0) return '(config)';
  let out = '';
  let node: unknown = data;
  for (const key of path) {
    node = node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    if (typeof key === 'number') {
      const name = node && typeof node === 'object' ? (node as { name?: unknown }).name : undefined;
      out += typeof name === 'string' ? `[${key}] (${name})` : `[${key}]`;
    } else {
      out += out ? `.${String(key)}` : String(key);
    }
  }
  return out;
}

/** The route to a country: its own entry, or `default`. */
export function routeFor(routes: RouteTable, country: string | undefined): { key: string; route: Route } {
  const own = country === undefined ? undefined : routes[country];
  return own ? { key: country!, route: own } : { key: 'default', route: routes.default };
}

export type RouteCost = Omit<SmsCostEstimate, 'country'>;

/** The estimate for sending `segments` through one provider of a route: cost.ts's rule at its price. */
export function routeCost(provider: RouteProvider, segments: number): RouteCost {
  const price = { perSegment: provider.perSegment, currency: provider.currency };
  const { amount, currency, perSegment } = estimateCostInCountry(undefined, segments, { default: price });
  return { amount, currency, perSegment };
}
