import { sql } from 'drizzle-orm';
import type { ChannelName, DeliveryJob } from '../channels/channel.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import type { DeliveryStatus } from '../db/schema.ts';

/**
 * Every SQL statement of the delivery queue, in one place (as pg-boss keeps its "plans"). Each
 * statement writes its status history in the same round trip, so a status never changes unrecorded.
 */

interface ClaimedRow {
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
  external_id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  locale: string;
  time_zone: string;
}

/** How many due deliveries a worker wants of one channel (its free slots, at most a batch). */
export interface ClaimWant {
  channel: ChannelName;
  limit: number;
}

/**
 * Claim due deliveries of several channels in ONE statement (queued → sending, with a lease): up
 * to `limit` of each, oldest due first. One round trip per pass, whatever the number of channels.
 */
export async function claimDue(
  q: Queryable,
  wants: readonly ClaimWant[],
  owner: string,
  leaseMs: number,
): Promise<DeliveryJob[]> {
  if (wants.length === 0) return [];
  const rows = await queryRows<ClaimedRow>(
    q,
    sql`with picked as (
      select p.id
      from jsonb_to_recordset(${JSON.stringify(wants)}::jsonb) as w(channel text, "limit" int)
      cross join lateral (
        select id from deliveries
        where status = 'queued' and channel = w.channel and next_attempt_at <= now()
        order by next_attempt_at
        limit w."limit"
        for update skip locked
      ) p
    ), claimed as (
      update deliveries d
      set status = 'sending', lease_owner = ${owner},
          lease_expires_at = now() + ${leaseMs} * interval '1 millisecond',
          attempts = d.attempts + 1, updated_at = now()
      from picked where d.id = picked.id
      returning d.id, d.notification_id, d.channel, d.attempts,
                (extract(epoch from d.created_at) * 1000)::float8 as created_ms,
                (d.details->>'outcome_unknown')::boolean as outcome_unknown
    ), history as (
      insert into delivery_status_history (delivery_id, from_status, to_status, detail)
      select id, 'queued', 'sending', 'attempt ' || attempts from claimed
    )
    select c.id, c.attempts, c.channel, c.created_ms, c.outcome_unknown,
           n.notification_id as public_id, n.type, n.title, n.message, n.context,
           u.id as user_id, u.external_id, u.email, u.phone, u.first_name, u.last_name, u.locale, u.time_zone
    from claimed c
    join notifications n on n.id = c.notification_id
    join users u on u.id = n.user_id`,
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
    user: {
      id: String(r.user_id),
      externalId: r.external_id,
      email: r.email,
      phone: r.phone,
      firstName: r.first_name,
      lastName: r.last_name,
      locale: r.locale,
      timeZone: r.time_zone,
    },
    outcomeUnknown: r.outcome_unknown === true,
    createdAt: new Date(Number(r.created_ms)),
  }));
}

/**
 * Give back deliveries whose worker died (lease expired while `sending`): queued again and flagged
 * `outcome_unknown`, or failed when that was the last attempt the budget allowed.
 */
export async function reapExpiredLeases(q: Queryable, limit = 1000): Promise<number> {
  const rows = await queryRows<{ delivery_id: string }>(
    q,
    sql`with expired as (
      update deliveries d
      set status = case when d.attempts < d.max_attempts then 'queued' else 'failed' end,
          next_attempt_at = now(), lease_owner = null, lease_expires_at = null,
          error_code = case when d.attempts < d.max_attempts then d.error_code else 'LEASE_EXPIRED' end,
          failed_at = case when d.attempts < d.max_attempts then null else now() end,
          details = coalesce(d.details, '{}'::jsonb) || '{"outcome_unknown": true}'::jsonb,
          updated_at = now()
      where d.id in (
        select id from deliveries where status = 'sending' and lease_expires_at < now()
        limit ${limit} for update skip locked
      )
      returning d.id, d.status
    )
    insert into delivery_status_history (delivery_id, from_status, to_status, error_code, detail)
    select id, 'sending', status, case when status = 'failed' then 'LEASE_EXPIRED' end,
           'lease expired: the worker stopped mid-attempt, outcome unknown'
    from expired
    returning delivery_id`,
  );
  return rows.length;
}

/** The outcome of one attempt, as the worker writes it back. */
export interface Completion {
  id: string;
  status: Exclude<DeliveryStatus, 'sending'>;
  nextAttemptAt?: Date | null;
  providerMessageId?: string | null;
  providerStatus?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  skipReason?: string | null;
  costAmount?: number | null;
  costCurrency?: string | null;
  details?: Record<string, unknown> | null;
  /** Merged into notifications.metadata (e.g. the seed's `metadata.sms`). */
  metadata?: Record<string, unknown> | null;
  detail?: string | null;
}

/**
 * Write a batch of outcomes in one statement. Only rows still leased by `owner` change: a worker
 * whose lease was reaped must not overwrite the newer attempt. Returns the ids that were written.
 */
export async function completeBatch(q: Queryable, owner: string, batch: Completion[]): Promise<Set<string>> {
  if (batch.length === 0) return new Set();
  const payload = JSON.stringify(
    batch.map((c) => ({
      id: c.id,
      status: c.status,
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
  const rows = await queryRows<{ delivery_id: string }>(
    q,
    sql`with v as (
      select * from jsonb_to_recordset(${payload}::jsonb) as v(
        id bigint, status text, next_attempt_at timestamptz, provider_message_id text, provider_status text,
        error_code text, error_message text, skip_reason text, cost_amount numeric, cost_currency text,
        details jsonb, metadata jsonb, detail text)
    ), upd as (
      update deliveries d
      set status = v.status, next_attempt_at = v.next_attempt_at, lease_owner = null, lease_expires_at = null,
          provider_message_id = coalesce(v.provider_message_id, d.provider_message_id),
          provider_status = coalesce(v.provider_status, d.provider_status),
          error_code = v.error_code, error_message = v.error_message,
          skip_reason = coalesce(v.skip_reason, d.skip_reason),
          cost_amount = coalesce(v.cost_amount, d.cost_amount),
          cost_currency = coalesce(v.cost_currency, d.cost_currency),
          details = case when v.details is null then d.details else coalesce(d.details, '{}'::jsonb) || v.details end,
          sent_at = case when v.status in ('sent', 'delivered') then now() else d.sent_at end,
          delivered_at = case when v.status = 'delivered' then now() else d.delivered_at end,
          failed_at = case when v.status = 'failed' then now() else d.failed_at end,
          updated_at = now()
      from v
      where d.id = v.id and d.status = 'sending' and d.lease_owner = ${owner}
      returning d.id, d.notification_id
    ), meta as (
      select upd.notification_id, jsonb_object_agg(e.key, e.value) as m
      from upd join v on v.id = upd.id cross join lateral jsonb_each(v.metadata) e
      group by upd.notification_id
    ), meta_upd as (
      update notifications n set metadata = n.metadata || meta.m from meta where n.id = meta.notification_id
    )
    insert into delivery_status_history (delivery_id, from_status, to_status, provider_status, error_code, detail)
    select v.id, 'sending', v.status, v.provider_status, v.error_code, coalesce(v.detail, v.error_message)
    from upd join v on v.id = upd.id
    returning delivery_id`,
  );
  return new Set(rows.map((r) => String(r.delivery_id)));
}

/**
 * Deliveries that have sat in `sent` longer than `olderThanMs` (their provider's report never came,
 * or came before the worker wrote `sent`). Each row's `updated_at` is touched so concurrent sweeps
 * and the next round skip it for another interval.
 */
export async function takeStaleSent(
  q: Queryable,
  channel: ChannelName,
  olderThanMs: number,
  limit: number,
): Promise<Array<{ id: string; providerMessageId: string }>> {
  const rows = await queryRows<{ id: string; provider_message_id: string }>(
    q,
    sql`update deliveries d set updated_at = now()
      where d.id in (
        select id from deliveries
        where status = 'sent' and channel = ${channel} and provider_message_id is not null
          and updated_at < now() - ${olderThanMs} * interval '1 millisecond'
        order by updated_at
        limit ${limit}
        for update skip locked
      )
      returning d.id, d.provider_message_id`,
  );
  return rows.map((r) => ({ id: String(r.id), providerMessageId: r.provider_message_id }));
}
