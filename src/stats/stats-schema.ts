/**
 * The answer of GET /api/v1/stats as a zod schema, for the OpenAPI document and the response
 * serializer; `satisfies` keeps it the same shape as the types delivery-stats.ts returns.
 */

import { z } from 'zod';
import { CHANNELS } from '../catalog/catalog.ts';
import type { DeliveryStats } from './delivery-stats.ts';

const count = z.number().int().min(0);
const channel = z.enum(CHANNELS);
const perChannel = <T extends z.ZodType>(value: T) => z.record(channel, value);

const smsCost = z.object({
  segments: count.describe('SMS segments handed to the provider'),
  estimated: z.number().describe('Sum of the estimates stored at send (cost_amount)'),
  reported: z
    .number()
    .nullable()
    .describe("Sum of Twilio's reported prices, over `priced` messages; null when none"),
  priced: count.describe('SMS with a reported price'),
  currency: z.string().nullable(),
});

export const deliveryStatsSchema = z.object({
  window: z.object({
    from: z.string(),
    to: z.string(),
    granularity: z.enum(['hour', 'day']),
    time_zone: z.string(),
  }),
  generated_at: z.string(),
  channels: perChannel(
    z.object({
      total: count,
      handed_to_provider: count.describe('sent_at set: reached the provider (the CLI\'s "SMS sent")'),
      sent: count.describe('handed over, no final receipt yet'),
      delivered: count,
      failed: count,
      pending: count.describe('queued or sending'),
      skipped: count,
      skipped_by_reason: z.record(z.string(), count),
      delivery_rate: z
        .number()
        .nullable()
        .describe(
          'confirmed: delivered ÷ (delivered + failed + sent); accepted: (delivered + sent) ÷ (delivered + sent + failed)',
        ),
      rate_basis: z.enum(['confirmed', 'accepted']),
    }),
  ),
  sms_cost: smsCost,
  buckets: z.array(
    z.object({
      start: z.string(),
      label: z.string(),
      volume: perChannel(count),
      sms: smsCost.extend({ handed_to_provider: count, delivered: count, failed: count }),
    }),
  ),
  failures: z.array(
    z.object({
      channel,
      code: z.string().nullable(),
      count,
      meaning: z.string().nullable(),
      fix: z.string().nullable(),
      docs: z.string().nullable(),
    }),
  ),
  types: z.array(
    z.object({
      type: z.string(),
      notifications: count,
      delivered: count,
      failed: count,
      skipped: count,
      pending: count,
    }),
  ),
  queue: z.array(
    z.object({
      channel,
      due: count,
      scheduled: count,
      sending: count,
      oldest_due_age_ms: z.number().nullable(),
    }),
  ),
}) satisfies z.ZodType<DeliveryStats>;
