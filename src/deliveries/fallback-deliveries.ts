import { sql } from 'drizzle-orm';
import type { ChannelName } from '../catalog/catalog.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { DELIVERIES_CHANNEL } from './enqueue.ts';
import { type EventsBy, fromGuard, onlyFrom, TRANSITIONS } from './state-machine.ts';

/**
 * The fallback rule's SQL (the decisions are in notifications/fallback-pass.ts): read the deliveries
 * that failed lately and have no fallback yet, and create one's fallback delivery with the link in
 * both timelines. Failures are written by several statements (lc_complete_deliveries for a refused
 * request, lc_apply_provider_statuses for a failed status report, an email bounce): reading them
 * afterwards, by `failed_at` through the partial index of migration 0024, leaves those hot
 * functions as they are.
 */

/** A failed delivery of a type with a fallback rule that has none yet. */
export interface FallbackCandidate {
  id: number;
  channel: ChannelName;
  errorCode: string | null;
  type: string;
  /** users.external_id: the recipient is loaded by it, as at creation. */
  userExternalId: string;
  /** The notification's channels that have a delivery (a fallback never goes where one is). */
  present: string[];
  /** Where the next page starts: failed_at in µs since the epoch, and the id. */
  failedAtUs: string;
}

/** The database's now in µs since the epoch: `failed_at` is stamped by it, so bookmarks are too. */
export async function databaseNowUs(q: Queryable): Promise<string> {
  const [row] = await queryRows<{ us: string }>(
    q,
    sql`select (extract(epoch from now()) * 1000000)::bigint::text as us`,
  );
  return row!.us;
}

/**
 * Failed deliveries after (`afterUs`, `afterId`) in (failed_at, id) order, of the given types and
 * channels, without details.fallback_to: one page of `limit`.
 */
export async function findFallbackCandidates(
  q: Queryable,
  o: {
    afterUs: string;
    afterId: number;
    types: readonly string[];
    channels: readonly ChannelName[];
    limit: number;
  },
): Promise<FallbackCandidate[]> {
  const rows = await queryRows<{
    id: string;
    channel: ChannelName;
    error_code: string | null;
    type: string;
    external_id: string;
    present: string[];
    failed_at_us: string;
  }>(
    q,
    sql`select d.id::text, d.channel, d.error_code, n.type, u.external_id,
               array(select o.channel from deliveries o where o.notification_id = d.notification_id) as present,
               (extract(epoch from d.failed_at) * 1000000)::bigint::text as failed_at_us
        from deliveries d
        join notifications n on n.id = d.notification_id
        join users u on u.id = n.user_id
        where ${fromGuard(sql`d.status`, 'fallback_linked')}
          and (d.failed_at, d.id) > (timestamptz 'epoch' + ${o.afterUs}::bigint * interval '1 microsecond', ${o.afterId}::bigint)
          and d.channel = any(${`{${o.channels.join(',')}}`}::text[])
          and n.type = any(${`{${o.types.join(',')}}`}::text[])
          and d.details -> 'fallback_to' is null
        order by d.failed_at, d.id
        limit ${o.limit}`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    channel: r.channel,
    errorCode: r.error_code,
    type: r.type,
    userExternalId: r.external_id,
    present: r.present,
    failedAtUs: r.failed_at_us,
  }));
}

export type FallbackEvent = Exclude<EventsBy<'createFallbackDeliveries'>, 'fallback_linked'>;

/** The fallback of one failed delivery, decided: its channel and how it starts. */
export interface NewFallback {
  failedId: number;
  channel: ChannelName;
  event: FallbackEvent;
  maxAttempts: number;
  nextAttemptAt: Date | null;
  skipReason: string | null;
  errorMessage: string | null;
}

export interface CreatedFallback {
  failedId: number;
  id: number;
  channel: ChannelName;
  status: string;
}

/**
 * Create each failed delivery's fallback in ONE statement: the new delivery (fallback_queued or
 * fallback_skipped, details.fallback_from) with its first history line "fallback from sms (delivery
 * 12, 21211)", and on the failed one details.fallback_to with a line "fell back to email: delivery
 * 13" (fallback_linked: failed → failed, a history row that records an event, not a status change,
 * as provider_progress does for sent → sent). Crash-safe and idempotent: the failed row is locked
 * and must still be failed without a fallback_to, and (notification_id, channel) is unique, so a
 * repeated or concurrent call creates nothing twice. Returns what it created.
 */
export async function createFallbackDeliveries(
  q: Queryable,
  items: readonly NewFallback[],
): Promise<CreatedFallback[]> {
  if (items.length === 0) return [];
  const payload = JSON.stringify(
    items.map((i) => ({
      failed_id: i.failedId,
      channel: i.channel,
      status: TRANSITIONS[i.event].to,
      max_attempts: i.maxAttempts,
      next_attempt_at: i.nextAttemptAt?.toISOString() ?? null,
      skip_reason: i.skipReason,
      error_message: i.errorMessage,
    })),
  );
  const rows = await queryRows<{ failed_id: string; id: string; channel: ChannelName; status: string }>(
    q,
    sql`with v as (
      select * from jsonb_to_recordset(${payload}::jsonb) as v(
        failed_id bigint, channel text, status text, max_attempts int, next_attempt_at timestamptz,
        skip_reason text, error_message text)
    ), src as (
      select d.id, d.notification_id, d.channel, d.error_code
      from deliveries d join v on v.failed_id = d.id
      where ${fromGuard(sql`d.status`, 'fallback_linked')} and d.details -> 'fallback_to' is null
      for update of d
    ), made as (
      insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at, skip_reason,
        error_message, details)
      select s.notification_id, v.channel, v.status, v.max_attempts, v.next_attempt_at, v.skip_reason,
             v.error_message,
             jsonb_build_object('fallback_from',
               jsonb_build_object('delivery_id', s.id, 'channel', s.channel, 'error_code', s.error_code))
      from src s join v on v.failed_id = s.id
      on conflict (notification_id, channel) do nothing
      returning id, channel, status, error_message, (details -> 'fallback_from' ->> 'delivery_id')::bigint as failed_id
    ), linked as (
      update deliveries d
      set details = coalesce(d.details, '{}'::jsonb)
            || jsonb_build_object('fallback_to', jsonb_build_object('delivery_id', m.id, 'channel', m.channel)),
          updated_at = now()
      from made m
      where d.id = m.failed_id
      returning d.id, d.channel, d.error_code, m.id as to_id, m.channel as to_channel, m.status as to_status,
                m.error_message as to_message
    ), history as (
      insert into delivery_status_history (delivery_id, from_status, to_status, detail)
      select l.to_id, null, l.to_status,
             format('fallback from %s (delivery %s, %s)', l.channel, l.id, l.error_code)
               || coalesce(': ' || l.to_message, '')
      from linked l
      union all
      select l.id, ${onlyFrom('fallback_linked')}, ${TRANSITIONS.fallback_linked.to},
             format('fell back to %s: delivery %s', l.to_channel, l.to_id)
      from linked l
    )
    select l.id::text as failed_id, l.to_id::text as id, l.to_channel as channel, l.to_status as status
    from linked l`,
  );
  const created = rows.map((r) => ({
    failedId: Number(r.failed_id),
    id: Number(r.id),
    channel: r.channel,
    status: r.status,
  }));
  const queued = [
    ...new Set(created.filter((c) => c.status === TRANSITIONS.fallback_queued.to).map((c) => c.channel)),
  ];
  // Wakes the workers now rather than at their next poll.
  if (queued.length > 0) await q.execute(sql`select pg_notify(${DELIVERIES_CHANNEL}, ${queued.join(',')})`);
  return created;
}
