/**
 * What a campaign is made of, as a client sends it (POST /api/v1/campaigns, `campaigns create`):
 * its id and name, the audience, the content per channel × locale, the schedule and the context its
 * templates render with. One schema for the API, the CLI and the OpenAPI document; the hash of the
 * parsed body makes a retried create a replay and another body under the same id a conflict.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { jsonObject, text } from '../text.ts';
import { LOCAL_DATE_TIME } from '../time-zone.ts';
import { attributesFilter } from '../users/user-attributes.ts';

/** The channels a campaign may use: the promotional ones with an opt-in and an unsubscribe. */
export const CAMPAIGN_CHANNELS = ['sms', 'email'] as const;
export type CampaignChannel = (typeof CAMPAIGN_CHANNELS)[number];

/** A list audience's most user ids (a larger one is a filter over attributes). */
export const MAX_LISTED_USERS = 100_000;

const locale = z.string().regex(/^[a-z]{2}$/, 'must be a two-letter language code such as en');
const source = text().trim().min(1, 'must be a non-empty template').max(20_000);

const smsContent = z.strictObject({
  body: source,
  /** India: the DLT promotional template this text is registered as (docs/sms.md#dlt). */
  dlt_template_id: text().trim().min(1).max(64).optional(),
  dlt_text: text().trim().min(1).max(2000).optional(),
});
const emailContent = z.strictObject({ subject: source, text: source, html: source });

/** Content per locale; English is required, as every other locale falls back to it. */
const perLocale = <T extends z.ZodType>(content: T) =>
  z
    .record(locale, content)
    .refine((m) => Object.hasOwn(m, 'en'), 'must have an "en" version: other locales fall back to it');

export const campaignSpec = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 characters of A-Z, a-z, 0-9, _ . -'),
  name: text().trim().min(1).max(200),
  audience: z.union([
    z.strictObject({
      // A listed id twice is one recipient.
      user_ids: z
        .array(text().min(1).max(255))
        .min(1)
        .max(MAX_LISTED_USERS)
        .transform((ids) => [...new Set(ids)]),
    }),
    z.strictObject({ filter: z.strictObject({ attributes: attributesFilter.optional() }) }),
  ]),
  content: z
    .strictObject({ sms: perLocale(smsContent).optional(), email: perLocale(emailContent).optional() })
    .refine((c) => c.sms || c.email, 'must have sms or email content'),
  /** Absent: a draft, started later by `start`. `now`, an instant, or a wall time in each recipient's zone. */
  schedule: z
    .union([
      z.literal('now'),
      z.strictObject({ at: z.iso.datetime({ offset: true }) }),
      z.strictObject({ local: z.string().regex(LOCAL_DATE_TIME, 'must be YYYY-MM-DDTHH:MM') }),
    ])
    .optional(),
  /** Variables the templates render with, beside the user's own (first_name…) and `campaign`. */
  context: jsonObject().optional(),
});

export type CampaignSpec = z.infer<typeof campaignSpec>;
export type CampaignSchedule = NonNullable<CampaignSpec['schedule']>;

/** The channels a campaign sends on, in a fixed order. */
export function channelsOf(spec: CampaignSpec): CampaignChannel[] {
  return CAMPAIGN_CHANNELS.filter((c) => spec.content[c] !== undefined);
}

/** Of the parsed body (defaults applied, keys in the schema's order): a retry hashes the same. */
export function specHash(spec: CampaignSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('hex');
}
