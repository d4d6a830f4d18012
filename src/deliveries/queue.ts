import { sql } from 'drizzle-orm';
import type { ChannelName, DeliveryJob } from '../channels/channel.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { type ProfileColumns, profileFromColumns } from '../notifications/recipient.ts';
import { PROVIDER_STATUS_RANKS_JSON } from './provider-status.ts';
import { type EventsBy, fromGuard, onlyFrom, TRANSITIONS, TRANSITIONS_JSON } from './state-machine.ts';

/**
 * Every SQL operation of the delivery queue, in one place (as pg-boss keeps its "plans"). Each
 * writes its status history in the same round trip, so a status never changes unrecorded. The two
 * hot ones, claim and complete, are PL/pgSQL functions (live bodies in src/db/schema.sql)
 * whose plans PostgreSQL caches; the rare ones stay inline.
 */

interface ClaimedRow extends ProfileColumns {
  id: string;
  attempts: number;
  channel: ChannelName;
  outcome_unknown: boolean | null;
  created_ms: string | number;
  public_id: string;
  type: string;
  title: string;
  message: string;
  context: Record<string, unknown>;
  user_id: string;
}

/** How many due deliveries a worker wants of one channel (its free slots, at most a batch). */
export interface ClaimWant {
  channel: ChannelName;
  limit: number;
}

/**
 * Claim due deliveries of several channels in ONE call (queued → sending, with a lease): up to
 * `limit` of each, oldest due first, `for update skip locked`. One round trip per pass, whatever the
 * number of channels; each claimed row comes back with what its channel needs (notification, user).
 * `now` is the instant "due" and the lease are measured from: null (production) is the database's
 * now(), the one clock all workers share; a test passes its clock's time (see src/clock.ts).
 */
export async function claimDue(
  q: Queryable,
  wants: readonly ClaimWant[],
  owner: string,
  leaseMs: number,
  now: Date | null = null,
): Promise<DeliveryJob[]> {
  if (wants.length === 0) return [];
  const rows = await queryRows<ClaimedRow>(
    q,
    sql`select * from lc_claim_deliveries(${JSON.stringify(wants)}::jsonb, ${owner}, ${leaseMs}, ${sqlInstant(now)}::timestamptz)`,
  );
  return rows.map((r) => ({
    deliveryId: String(r.id),
    notificationId: r.public_id,
    notificationType: r.type,
    channel: r.channel,
    attempt: r.attempts,
    title: r.title,
    message: r.message,
    context: r.context,
    user: { id: String(r.user_id), ...profileFromColumns(r) },
    outcomeUnknown: r.outcome_unknown === true,
    createdAt: new Date(Number(r.created_ms)),
  }));
}

/**
 * Give back deliveries whose worker died (lease expired while `sending`): queued again and flagged
 * `outcome_unknown`. Past the retry budget that attempt may still have sent, so a channel that can
 * ask its provider (`lookups`: lookup-only attempts per channel) gets it queued for a lookup (the
 * worker never sends past the budget); only when those are spent too is it failed. `now` as for
 * claimDue: null is the database's clock, the one the lease was set by.
 */
export async function reapExpiredLeases(
  q: Queryable,
  lookups: Partial<Record<ChannelName, number>>,
  now: Date | null = null,
  limit = 1000,
): Promise<number> {
  const rows = await queryRows<{ delivery_id: string }>(
    q,
    sql`with clock as (select coalesce(${sqlInstant(now)}::timestamptz, now()) as now), expired as (
      update deliveries d
      set status = case when d.attempts < d.max_attempts + x.lookups then ${TRANSITIONS.lease_expired.to}
                        else ${TRANSITIONS.lease_expired_final.to} end,
          next_attempt_at = (select now from clock), lease_owner = null, lease_expires_at = null,
          error_code = case when d.attempts < d.max_attempts + x.lookups then d.error_code else 'LEASE_EXPIRED' end,
          failed_at = case when d.attempts < d.max_attempts + x.lookups then null else now() end,
          details = coalesce(d.details, '{}'::jsonb) || '{"outcome_unknown": true}'::jsonb,
          updated_at = now()
      from (
        select id, coalesce((${JSON.stringify(lookups)}::jsonb ->> channel)::int, 0) as lookups
        from deliveries where ${fromGuard(sql`status`, 'lease_expired')}
          and lease_expires_at < (select now from clock)
        limit ${limit} for update skip locked
      ) x
      where d.id = x.id and ${fromGuard(sql`d.status`, 'lease_expired')}
      returning d.id, d.status
    )
    insert into delivery_status_history (delivery_id, from_status, to_status, error_code, detail)
    select id, ${onlyFrom('lease_expired')}, status, case when status = ${TRANSITIONS.lease_expired_final.to} then 'LEASE_EXPIRED' end,
           'lease expired: the worker stopped mid-attempt, outcome unknown'
    from expired
    returning delivery_id`,
  );
  return rows.length;
}

/** The events that end an attempt: what lc_complete_deliveries accepts. */
export type CompletionEvent = EventsBy<'lc_complete_deliveries'>;

/** An instant as a query parameter; null lets the SQL fall back to the database's now(). */
function sqlInstant(now: Date | null): string | null {
  return now?.toISOString() ?? null;
}

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
 * provider-status.ts). Returns the ids that were written.
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

/**
 * Deliveries that have sat in `sent` longer than `olderThanMs` (their provider's report never came,
 * or came before the worker wrote `sent`). Each row's `updated_at` is touched so concurrent sweeps
 * and the next round skip it for another interval. `now` as for claimDue (null: the database's).
 */
export async function takeStaleSent(
  q: Queryable,
  channel: ChannelName,
  olderThanMs: number,
  limit: number,
  now: Date | null = null,
): Promise<Array<{ id: string; providerMessageId: string }>> {
  const rows = await queryRows<{ id: string; provider_message_id: string }>(
    q,
    sql`update deliveries d set updated_at = now()
      where d.id in (
        select id from deliveries
        where status = 'sent' and channel = ${channel} and provider_message_id is not null
          and updated_at < coalesce(${sqlInstant(now)}::timestamptz, now()) - ${olderThanMs} * interval '1 millisecond'
        order by updated_at
        limit ${limit}
        for update skip locked
      )
      returning d.id, d.provider_message_id`,
  );
  return rows.map((r) => ({ id: String(r.id), providerMessageId: r.provider_message_id }));
}
