import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';

/**
 * How far along a provider status is. Callbacks arrive out of order and more than once; a status
 * whose rank is not higher than the delivery's current one is recorded in the history but changes
 * nothing (a late `sent` after `delivered` must not regress it).
 */
export const PROVIDER_STATUS_RANK: Record<string, number> = {
  accepted: 0,
  scheduled: 0,
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  read: 3,
  undelivered: 3,
  failed: 3,
  canceled: 3,
};

export interface ProviderStatusUpdate {
  providerMessageId: string;
  providerStatus: string;
  errorCode: string | null;
  price: string | null;
  /** When the failure is worth another attempt (e.g. 30003 unreachable handset), when to try. */
  retryAt: Date | null;
}

export interface AppliedStatus {
  deliveryId: string;
  notificationId: string;
  userId: string;
  applied: boolean;
  status: string;
  attempts: number;
  maxAttempts: number;
}

/**
 * Apply a provider status callback to its delivery in one statement (update + history + the seed's
 * `metadata.sms.status` / `updated_at`). Returns undefined when no delivery has that provider id.
 */
export async function applyProviderStatus(
  q: Queryable,
  u: ProviderStatusUpdate,
): Promise<AppliedStatus | undefined> {
  const rank = PROVIDER_STATUS_RANK[u.providerStatus] ?? -1;
  const failed = u.providerStatus === 'failed' || u.providerStatus === 'undelivered';
  const delivered = u.providerStatus === 'delivered' || u.providerStatus === 'read';
  const [row] = await queryRows<{
    id: string;
    notification_id: string;
    user_id: string;
    applied: boolean;
    status: string;
    attempts: number;
    max_attempts: number;
  }>(
    q,
    sql`with cur as (
      select d.id, d.status, d.provider_status, d.notification_id, d.attempts, d.max_attempts, n.user_id
      from deliveries d join notifications n on n.id = d.notification_id
      where d.provider_message_id = ${u.providerMessageId}
      for update of d
    ), decision as (
      select cur.*, (cur.status = 'sent'
        and ${rank} > coalesce((${JSON.stringify(PROVIDER_STATUS_RANK)}::jsonb ->> cur.provider_status)::int, -1)) as apply
      from cur
    ), upd as (
      update deliveries d
      set provider_status = ${u.providerStatus},
          status = case when ${delivered} then 'delivered'
                        when ${failed} and ${u.retryAt !== null} and d.attempts < d.max_attempts then 'queued'
                        when ${failed} then 'failed' else d.status end,
          next_attempt_at = case when ${failed} and ${u.retryAt !== null} and d.attempts < d.max_attempts
                                 then ${u.retryAt?.toISOString() ?? null}::timestamptz else d.next_attempt_at end,
          error_code = coalesce(${u.errorCode}, d.error_code),
          delivered_at = case when ${delivered} then now() else d.delivered_at end,
          failed_at = case when ${failed} and not (${u.retryAt !== null} and d.attempts < d.max_attempts) then now() else d.failed_at end,
          details = case when ${u.price}::text is null then d.details
                         else coalesce(d.details, '{}'::jsonb) || jsonb_build_object('price', ${u.price}::text) end,
          updated_at = now()
      from decision where d.id = decision.id and decision.apply
      returning d.id, d.status
    ), meta as (
      update notifications n
      set metadata = jsonb_set(n.metadata, '{sms}', coalesce(n.metadata->'sms', '{}'::jsonb)
            || jsonb_build_object('status', ${u.providerStatus}::text, 'updated_at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
            || case when ${u.errorCode}::text is null then '{}'::jsonb else jsonb_build_object('error_code', ${u.errorCode}::text) end)
      from upd join decision on decision.id = upd.id
      where n.id = decision.notification_id
    ), hist as (
      insert into delivery_status_history (delivery_id, from_status, to_status, provider_status, error_code, detail)
      select decision.id, decision.status, coalesce(upd.status, decision.status), ${u.providerStatus}, ${u.errorCode},
             case when upd.id is null then 'status callback ignored: not newer than ' || coalesce(decision.provider_status, decision.status)
                  else 'status callback' end
      from decision left join upd on upd.id = decision.id
    )
    select decision.id, decision.notification_id, decision.user_id, (upd.id is not null) as applied,
           coalesce(upd.status, decision.status) as status, decision.attempts, decision.max_attempts
    from decision left join upd on upd.id = decision.id`,
  );
  if (!row) return undefined;
  return {
    deliveryId: String(row.id),
    notificationId: String(row.notification_id),
    userId: String(row.user_id),
    applied: row.applied,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
  };
}
