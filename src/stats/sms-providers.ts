/**
 * The SMS providers as an operator sees them (GET /api/v1/sms/providers, `test-sms --check-config`):
 * per provider whether it is configured and enabled (SMS_PROVIDERS), its sender and the ids of its
 * credentials masked, and the router's snapshot of health, weights and changes. Secrets (Twilio's
 * auth token, Vonage's API secret and signature secret) are never read here; the schema lists every
 * field the answer may carry, so the serializer drops anything else.
 */
import { z } from 'zod';
import type { ProviderName } from '../channels/sms/routing/routing-config.ts';
import type { RoutingSnapshot } from '../channels/sms/routing/snapshot.ts';
import { type Config, maskSecret } from '../config.ts';
import type { SmsSetup } from '../setup/sms.ts';

export interface SmsProviderInfo {
  name: ProviderName;
  /** SMS_PROVIDERS lets it send (unset: every configured provider does). */
  enabled: boolean;
  configured: boolean;
  /** The sender (a number or an alphanumeric id): public, it is on every message sent. */
  from: string | null;
  /** Ids only, masked like maskSecret; null when not set. */
  credentials: { accountSid?: string | null; messagingServiceSid?: string | null; apiKey?: string | null };
}

export interface SmsProvidersReport {
  backend: SmsSetup['backend'];
  providers: SmsProviderInfo[];
  /** Null when no provider is configured and enabled (no router). */
  routing: RoutingSnapshot | null;
}

const masked = (value: string | undefined) => (value ? maskSecret(value) : null);

export function smsProvidersReport(config: Config, sms: SmsSetup): SmsProvidersReport {
  return {
    backend: sms.backend,
    providers: [
      {
        name: 'twilio',
        enabled: sms.providers.includes('twilio'),
        configured: sms.service.configured,
        from: sms.from ?? null,
        credentials: {
          accountSid: masked(sms.accountSid),
          messagingServiceSid: masked(config.TWILIO_MESSAGING_SERVICE_SID),
        },
      },
      {
        name: 'vonage',
        enabled: sms.providers.includes('vonage'),
        configured: sms.vonage !== undefined,
        from: sms.vonage?.from ?? null,
        credentials: { apiKey: masked(sms.vonage?.apiKey ?? config.VONAGE_API_KEY) },
      },
    ],
    routing: sms.router?.snapshot() ?? null,
  };
}

const count = z.number().int().min(0);
const maskedId = z.string().nullable().optional();
const iso = z.string().describe('ISO 8601 time');
const share = z.number().min(0).max(1).nullable().describe('0–1; null with nothing to divide by');

const routingSnapshotSchema = z.object({
  at: iso,
  lastWeightChangeAt: iso.nullable(),
  providers: z.array(
    z.object({
      name: z.string(),
      state: z.enum(['in_rotation', 'out', 'probing']),
      outSince: iso.nullable(),
      outCause: z.string().nullable(),
      nextProbeAt: iso.nullable(),
      healthy: z.boolean(),
      unhealthyReason: z.string().nullable(),
      window: z.object({
        ms: z.number(),
        requests: z.object({
          ok: count,
          recipient_error: count,
          error: count,
          throttled: count,
          timeout: count,
          server_error: count,
          connection_refused: count,
          auth_error: count,
        }),
        delivered: count,
        slow: count,
        slowShare: share,
        failedShare: share,
      }),
      shift: z.number().describe('Points added to (or taken from) its resting weight in every route'),
      weights: z.array(z.object({ route: z.string(), resting: z.number(), current: z.number() })),
    }),
  ),
  history: z
    .array(
      z.object({
        at: iso,
        provider: z.string(),
        change: z.enum(['weight', 'rotation']),
        from: z.union([z.number(), z.string()]),
        to: z.union([z.number(), z.string()]),
        reason: z.string(),
      }),
    )
    .describe('Oldest first'),
}) satisfies z.ZodType<RoutingSnapshot>;

export const smsProvidersSchema = z.object({
  backend: z.enum(['sandbox', 'twilio']),
  providers: z.array(
    z.object({
      name: z.string(),
      enabled: z.boolean().describe('SMS_PROVIDERS lets it send (unset: every configured provider)'),
      configured: z.boolean(),
      from: z.string().nullable().describe('The sender number or id'),
      credentials: z
        .object({
          accountSid: maskedId.describe("Twilio's account SID"),
          messagingServiceSid: maskedId.describe("Twilio's Messaging Service SID"),
          apiKey: maskedId.describe("Vonage's API key"),
        })
        .describe('Ids masked like `ACxxxxxxxx...`; never a secret'),
    }),
  ),
  routing: routingSnapshotSchema
    .nullable()
    .describe("The router's state: rotation, weights, window counts, change history; null with no provider"),
}) satisfies z.ZodType<SmsProvidersReport>;
