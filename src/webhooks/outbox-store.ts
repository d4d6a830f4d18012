import { sql } from 'drizzle-orm';
import { type Db, type Queryable, queryRows } from '../db/database.ts';
import { AppError } from '../errors.ts';

/**
 * The outbox's SQL: the claim (due rows → leased, at most N in flight per endpoint across every
 * worker), an attempt's result, the attempts list and a replay. `now` null (production) is the
 * database's now(), the one clock every worker shares; a test passes its clock's instant.
 */

export interface ClaimedMessage {
  id: number;
  messageId: string;
  eventType: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  attempts: number;
  endpoint: {
    id: number;
    url: string;
    secret: string;
    previousSecret: string | null;
    previousSecretUntil: Date | null;
  };
}

interface EndpointRaw {
  id: string | number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: string | Date | null;
}

interface OutboxRaw {
  id: string | number;
  message_id: string;
  endpoint_id: string | number;
  event_type: string;
  payload: Record<string, unknown>;
  created_at: string | Date;
  attempts: number;
}

const instant = (now: Date | null) => sql`coalesce(${now?.toISOString() ?? null}::timestamptz, now())`;

/**
 * One transaction: lock the enabled endpoints no other worker is claiming for (skip locked; `no key
 * update` so the triggers' foreign-key checks on them do not wait), then — in a second statement,
 * whose snapshot sees every lease committed before the lock was had — take each endpoint's oldest
 * due rows up to its free slots (N minus its live leases). The per-endpoint bound therefore holds
 * across workers, and one slow endpoint never takes the others' turns.
 */
export async function claimDueMessages(
  db: Db,
  o: { maxInFlightPerEndpoint: number; batchSize: number; leaseMs: number; now: Date | null },
): Promise<ClaimedMessage[]> {
  const now = instant(o.now);
  return db.transaction(async (tx) => {
    const endpoints = await queryRows<EndpointRaw>(
      tx,
      sql`select id, url, secret, previous_secret, previous_secret_until from webhook_endpoints
          where enabled order by id for no key update skip locked`,
    );
    if (endpoints.length === 0) return [];
    const ids = `{${endpoints.map((e) => e.id).join(',')}}`;
    const rows = await queryRows<OutboxRaw>(
      tx,
      sql`with picked as (
            select c.id from unnest(${ids}::bigint[]) as e(id)
            cross join lateral (
              select o.id from webhook_outbox o
              where o.endpoint_id = e.id and o.state in ('pending', 'failed') and o.next_attempt_at <= ${now}
                and (o.lease_until is null or o.lease_until <= ${now})
              order by o.next_attempt_at, o.id
              limit greatest(0, ${o.maxInFlightPerEndpoint} - (
                select count(*) from webhook_outbox b where b.endpoint_id = e.id and b.lease_until > ${now}))
              for update skip locked
            ) c
            limit ${o.batchSize}
          )
          update webhook_outbox o set lease_until = ${now} + ${o.leaseMs} * interval '1 millisecond'
          from picked where o.id = picked.id
          returning o.id, o.message_id, o.endpoint_id, o.event_type, o.payload, o.created_at, o.attempts`,
    );
    const byId = new Map(endpoints.map((e) => [Number(e.id), e]));
    return rows.map((r) => {
      const e = byId.get(Number(r.endpoint_id))!;
      return {
        id: Number(r.id),
        messageId: r.message_id,
        eventType: r.event_type,
        payload: r.payload,
        createdAt: new Date(r.created_at),
        attempts: r.attempts,
        endpoint: {
          id: Number(e.id),
          url: e.url,
          secret: e.secret,
          previousSecret: e.previous_secret,
          previousSecretUntil: e.previous_secret_until ? new Date(e.previous_secret_until) : null,
        },
      };
    });
  });
}

export interface AttemptRecord {
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
  excerpt: string | null;
  /** delivered; failed with the delay to the next attempt; dead after the last. */
  outcome: { state: 'delivered' } | { state: 'failed'; retryInMs: number } | { state: 'dead' };
  /** Switch the endpoint off (a 410 Gone), keeping why. */
  disableEndpoint?: string;
}

/**
 * The attempt row, the outbox row's new state and lease release, and a 410's disable: one
 * transaction. A replay while the send was under way cleared the lease: the replay's "due now" stands.
 */
export async function recordAttempt(
  db: Db,
  m: ClaimedMessage,
  a: AttemptRecord,
  now: Date | null,
): Promise<void> {
  const at = instant(now);
  const retryMs = a.outcome.state === 'failed' ? a.outcome.retryInMs : 0;
  await db.transaction(async (tx) => {
    await tx.execute(sql`
      insert into webhook_attempts (outbox_id, endpoint_id, attempted_at, status_code, error, latency_ms, response_excerpt)
      values (${m.id}, ${m.endpoint.id}, ${at}, ${a.statusCode}, ${a.error}, ${a.latencyMs}, ${a.excerpt})`);
    await tx.execute(sql`
      update webhook_outbox set attempts = attempts + 1, state = ${a.outcome.state}, lease_until = null,
        next_attempt_at = case when ${a.outcome.state} = 'failed'
                               then ${at} + ${retryMs} * interval '1 millisecond' else next_attempt_at end,
        delivered_at = case when ${a.outcome.state} = 'delivered' then ${at} else delivered_at end
      where id = ${m.id} and lease_until is not null`);
    if (a.disableEndpoint) {
      await tx.execute(sql`
        update webhook_endpoints set enabled = false, disabled_reason = ${a.disableEndpoint}, updated_at = now()
        where id = ${m.endpoint.id} and enabled`);
    }
  });
}

export interface AttemptView {
  id: number;
  message_id: string;
  event_type: string;
  attempted_at: string;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  response_excerpt: string | null;
  /** The message's state now (pending, failed, delivered, dead). */
  message_state: string;
}

/** Newest first, `limit` a page; `before` (an attempt id) continues from the previous page's last. */
export async function listAttempts(
  q: Queryable,
  endpointId: number,
  limit: number,
  before: number | undefined,
): Promise<{ attempts: AttemptView[]; next_before: number | null }> {
  const rows = await queryRows<Record<string, unknown>>(
    q,
    sql`select a.id, o.message_id, o.event_type, a.attempted_at, a.status_code, a.error, a.latency_ms,
               a.response_excerpt, o.state
        from webhook_attempts a join webhook_outbox o on o.id = a.outbox_id
        where a.endpoint_id = ${endpointId} ${before === undefined ? sql`` : sql`and a.id < ${before}`}
        order by a.id desc limit ${limit + 1}`,
  );
  const attempts = rows.slice(0, limit).map((r) => ({
    id: Number(r['id']),
    message_id: r['message_id'] as string,
    event_type: r['event_type'] as string,
    attempted_at: new Date(r['attempted_at'] as string).toISOString(),
    status_code: (r['status_code'] as number | null) ?? null,
    error: (r['error'] as string | null) ?? null,
    latency_ms: Number(r['latency_ms']),
    response_excerpt: (r['response_excerpt'] as string | null) ?? null,
    message_state: r['state'] as string,
  }));
  return { attempts, next_before: rows.length > limit ? attempts.at(-1)!.id : null };
}

/**
 * Queue a message again (to one endpoint, or to every endpoint it went to), due now. Its attempts
 * are kept: a replay of a dead message is one more try, and dead again if it fails.
 */
export async function replayMessage(
  q: Queryable,
  messageId: string,
  endpointId: number | undefined,
  now: Date | null,
): Promise<number> {
  const rows = await queryRows<{ id: string }>(
    q,
    sql`update webhook_outbox set state = 'pending', next_attempt_at = ${instant(now)}, lease_until = null
        where message_id = ${messageId} ${endpointId === undefined ? sql`` : sql`and endpoint_id = ${endpointId}`}
        returning id`,
  );
  if (rows.length === 0)
    throw new AppError(
      'WEBHOOK_MESSAGE_NOT_FOUND',
      `No webhook message ${messageId}${endpointId ? ` for endpoint ${endpointId}` : ''}`,
    );
  return rows.length;
}
