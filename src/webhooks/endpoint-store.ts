import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { webhookEndpoints } from '../db/schema.ts';
import { AppError } from '../errors.ts';

/** The events the triggers of migration 0025 write; an endpoint subscribes to some (none: all). */
export const WEBHOOK_EVENT_TYPES = [
  'notification.created',
  'delivery.sent',
  'delivery.delivered',
  'delivery.failed',
  'delivery.skipped',
  'inbox.read',
  'preferences.changed',
  'sms.opted_out',
  'sms.opted_in',
  'sms.reply',
  // Migration 0030: a campaign's start and end (src/campaigns).
  'campaign.started',
  'campaign.completed',
  'campaign.cancelled',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** A rotation keeps the previous secret signing for at most this long. */
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 24 * 3600;

type EndpointRow = typeof webhookEndpoints.$inferSelect;

/** What the API shows of an endpoint: everything but its secrets. */
export interface EndpointView {
  id: number;
  url: string;
  event_types: string[];
  description: string;
  enabled: boolean;
  disabled_reason: string | null;
  /** During a rotation: until when the previous secret still signs too. */
  previous_secret_until: string | null;
  created_at: string;
  updated_at: string;
}

export function endpointView(e: EndpointRow): EndpointView {
  return {
    id: e.id,
    url: e.url,
    event_types: e.eventTypes,
    description: e.description,
    enabled: e.enabled,
    disabled_reason: e.disabledReason,
    previous_secret_until: e.previousSecretUntil?.toISOString() ?? null,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
  };
}

/** `whsec_` and 24 random bytes in base64, the Standard Webhooks secret format (its library decodes it). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export interface EndpointFields {
  url: string;
  eventTypes: readonly string[];
  description: string;
  enabled: boolean;
}

export async function createEndpoint(q: Queryable, f: EndpointFields) {
  const secret = newWebhookSecret();
  const [row] = await q
    .insert(webhookEndpoints)
    .values({
      url: f.url,
      eventTypes: [...f.eventTypes],
      description: f.description,
      enabled: f.enabled,
      secret,
    })
    .returning();
  return { endpoint: endpointView(row!), secret };
}

export async function listEndpoints(q: Queryable): Promise<EndpointView[]> {
  const rows = await q.select().from(webhookEndpoints).orderBy(webhookEndpoints.id);
  return rows.map(endpointView);
}

export async function findEndpoint(q: Queryable, id: number): Promise<EndpointRow> {
  const [row] = await q.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  if (!row) throw new AppError('WEBHOOK_ENDPOINT_NOT_FOUND', `No webhook endpoint with id ${id}`);
  return row;
}

/** Enabling clears the reason it was off; an admin switching it off is the reason. */
export async function updateEndpoint(
  q: Queryable,
  id: number,
  patch: Partial<EndpointFields>,
): Promise<EndpointView> {
  const [row] = await q
    .update(webhookEndpoints)
    .set({
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.eventTypes !== undefined ? { eventTypes: [...patch.eventTypes] } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.enabled !== undefined
        ? { enabled: patch.enabled, disabledReason: patch.enabled ? null : 'disabled over the API' }
        : {}),
      updatedAt: sql`now()`,
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  if (!row) throw new AppError('WEBHOOK_ENDPOINT_NOT_FOUND', `No webhook endpoint with id ${id}`);
  return endpointView(row);
}

/** Its outbox rows and attempts go with it (on delete cascade). */
export async function deleteEndpoint(q: Queryable, id: number): Promise<void> {
  const gone = await q
    .delete(webhookEndpoints)
    .where(eq(webhookEndpoints.id, id))
    .returning({ id: webhookEndpoints.id });
  if (gone.length === 0)
    throw new AppError('WEBHOOK_ENDPOINT_NOT_FOUND', `No webhook endpoint with id ${id}`);
}

/**
 * A new secret signs from now on; the current one keeps signing beside it for `overlapSeconds`
 * (both signatures in `webhook-signature`), so the receiver can switch without losing a message.
 */
export async function rotateEndpointSecret(q: Queryable, id: number, overlapSeconds: number, now: Date) {
  const secret = newWebhookSecret();
  const until = new Date(now.getTime() + overlapSeconds * 1000);
  const [row] = await q
    .update(webhookEndpoints)
    .set({
      previousSecret: overlapSeconds > 0 ? sql`${webhookEndpoints.secret}` : null,
      previousSecretUntil: overlapSeconds > 0 ? until : null,
      secret,
      updatedAt: sql`now()`,
    })
    .where(eq(webhookEndpoints.id, id))
    .returning();
  if (!row) throw new AppError('WEBHOOK_ENDPOINT_NOT_FOUND', `No webhook endpoint with id ${id}`);
  return { endpoint: endpointView(row), secret };
}

/** The secrets that sign a message sent at `now`: the current one, and the previous during its overlap. */
export function signingSecrets(
  e: Pick<EndpointRow, 'secret' | 'previousSecret' | 'previousSecretUntil'>,
  now: number,
): string[] {
  const previous =
    e.previousSecret && e.previousSecretUntil && e.previousSecretUntil.getTime() > now
      ? [e.previousSecret]
      : [];
  return [e.secret, ...previous];
}
