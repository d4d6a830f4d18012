import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';
import { PROVIDER_STATUS_RANKS_JSON } from './apply-provider-statuses.ts';
import { type EventsBy, TRANSITIONS_JSON } from './state-machine.ts';

/**
 * The end of an attempt: a batch of outcomes written in one call of the PL/pgSQL function
 * lc_complete_deliveries (live body in src/db/schema.sql), the delivery, its metadata part and its
 * history in the same round trip.
 */

/** The events that end an attempt: what lc_complete_deliveries accepts. */
export type CompletionEvent = EventsBy<'lc_complete_deliveries'>;

/** The outcome of one attempt, as the worker writes it back. */
export interface Completion {
  id: string;
  /** Its status is the state machine's (state-machine.ts), guarded in SQL by the event's from-states. */
  event: CompletionEvent;
  nextAttemptAt?: Date | null;
  providerMessageId?: string | null;
  providerStatus?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  skipReason?: string | null;
  costAmount?: number | null;
  costCurrency?: string | null;
  details?: Record<string, unknown> | null;
  /** Merged into the delivery's part of the notification's metadata (e.g. the seed's `metadata.sms`). */
  metadata?: Record<string, unknown> | null;
  detail?: string | null;
}

/**
 * Write a batch of outcomes in one call (delivery with its metadata part, history). Only
 * rows still leased by `owner` change: a worker whose lease was reaped must not overwrite the newer
 * attempt. Status reports that arrived before the sid was written are applied now (see
 * apply-provider-statuses.ts). Returns the ids that were written.
 */
export async function completeBatch(q: Queryable, owner: string, batch: Completion[]): Promise<Set<string>> {
  if (batch.length === 0) return new Set();
  const payload = JSON.stringify(
    batch.map((c) => ({
      id: c.id,
      event: c.event,
      next_attempt_at: c.nextAttemptAt?.toISOString() ?? null,
      provider_message_id: c.providerMessageId ?? null,
      provider_status: c.providerStatus ?? null,
      error_code: c.errorCode ?? null,
      error_message: c.errorMessage ?? null,
      skip_reason: c.skipReason ?? null,
      cost_amount: c.costAmount ?? null,
      cost_currency: c.costCurrency ?? null,
      details: c.details ?? null,
      metadata: c.metadata ?? null,
      detail: c.detail ?? null,
    })),
  );
  const rows = await queryRows<{ id: string }>(
    q,
    sql`select lc_complete_deliveries as id
        from lc_complete_deliveries(${owner}, ${payload}::jsonb, ${PROVIDER_STATUS_RANKS_JSON}::jsonb,
          ${TRANSITIONS_JSON}::jsonb)`,
  );
  return new Set(rows.map((r) => String(r.id)));
}
