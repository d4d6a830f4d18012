/**
 * Estimated SMS cost: segments × the destination country's per-segment price. An estimate for
 * dashboards and budgets, not the bill — Twilio reports the real `price` on the message later.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { z } from 'zod';
import { ConfigError } from '../../config.ts';

export interface SegmentPrice {
  perSegment: number;
  currency: string;
}

/** ISO 3166-1 alpha-2 country ('IN', 'US') -> price, plus `default` for every other country. */
export type PriceTable = Record<string, SegmentPrice> & { default?: SegmentPrice };

export interface SmsCostEstimate {
  amount: number;
  currency: string;
  country: string | undefined;
  perSegment: number;
}

/**
 * Approximate Twilio outbound list prices in USD (2025–26); carrier fees vary, so override them with
 * real figures through config. The default is deliberately on the high side for unknown countries.
 */
export const DEFAULT_SMS_PRICES: PriceTable = {
  US: { perSegment: 0.0083, currency: 'USD' },
  IN: { perSegment: 0.0832, currency: 'USD' },
  GB: { perSegment: 0.0524, currency: 'USD' },
  AE: { perSegment: 0.0625, currency: 'USD' },
  SG: { perSegment: 0.0563, currency: 'USD' },
  default: { perSegment: 0.1, currency: 'USD' },
};

/**
 * An MMS is priced per message, not per segment (Twilio's US and Canada list price, about
 * $0.02 before carrier fees): the sandbox charges it apart from a text's segments.
 */
export const DEFAULT_MMS_PRICE: SegmentPrice = { perSegment: 0.02, currency: 'USD' };

export function estimateSmsCost(
  e164: string,
  segments: number,
  table: PriceTable = DEFAULT_SMS_PRICES,
): SmsCostEstimate {
  return estimateCostInCountry(parsePhoneNumberFromString(e164)?.country, segments, table);
}

/** The same estimate where there is no recipient yet (the template editor prices the market's country). */
export function estimateCostInCountry(
  country: string | undefined,
  segments: number,
  table: PriceTable = DEFAULT_SMS_PRICES,
): SmsCostEstimate {
  if (!Number.isInteger(segments) || segments < 0) {
    throw new RangeError(`segments must be a non-negative integer, got ${segments}`);
  }
  const price = (country ? table[country] : undefined) ?? table.default ?? DEFAULT_SMS_PRICES.default!;
  // Rounded to micro-units so sums of estimates do not collect floating-point noise.
  const amount = Math.round(segments * price.perSegment * 1e6) / 1e6;
  return { amount, currency: price.currency, country, perSegment: price.perSegment };
}

const priceSchema = z.strictObject({
  perSegment: z.number().positive().max(10, 'is implausibly high for one SMS segment'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
});

const COUNTRY_OR_DEFAULT = /^([A-Z]{2}|default)$/;

const tableSchema = z.record(z.string(), priceSchema).superRefine((table, ctx) => {
  for (const key of Object.keys(table)) {
    if (!COUNTRY_OR_DEFAULT.test(key)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'keys must be ISO country codes (IN, US) or "default"',
      });
    }
  }
  if (!table['default']) {
    ctx.addIssue({ code: 'custom', path: [], message: 'a "default" price is required for other countries' });
  }
  // Estimates are summed across countries, which only makes sense in one currency.
  if (new Set(Object.values(table).map((p) => p.currency)).size > 1) {
    ctx.addIssue({ code: 'custom', path: [], message: 'all prices must use the same currency' });
  }
});

/** Parse a price-table override from config JSON, e.g. `{"IN":{"perSegment":0.08,"currency":"USD"},...}`. */
export function parsePriceTable(json: string): PriceTable {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new ConfigError(`SMS price table is not valid JSON: ${(err as Error).message}`);
  }
  const result = tableSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(table)'}: ${i.message}`);
    throw new ConfigError(`SMS price table is invalid: ${issues.join('; ')}`);
  }
  return result.data;
}
