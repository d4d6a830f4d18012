import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';
import { GroupCommit } from '../db/group-commit.ts';

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
const RANKS = JSON.stringify(PROVIDER_STATUS_RANK);

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
 * Apply a batch of provider status reports in ONE statement (update + history + the seed's
 * `metadata.sms.status` / `updated_at`), one result per report, in order: undefined when no
 * delivery has that provider id. A batch must not hold two reports for one message (see
 * ProviderStatusWriter, which keeps them apart and in order).
 */
export async function applyProviderStatuses(
  q: Queryable,
  updates: readonly ProviderStatusUpdate[],
): Promise<Array<AppliedStatus | undefined>> {
  if (updates.length === 0) return [];
  const payload = JSON.stringify(
    updates.map((u, ord) => {
      const failed = u.providerStatus === 'failed' || u.providerStatus === 'undelivered';
      return {
        ord,
        sid: u.providerMessageId,
        status: u.providerStatus,
        rank: PROVIDER_STATUS_RANK[u.providerStatus] ?? -1,
        delivered: u.providerStatus === 'delivered' || u.providerStatus === 'read',
        failed,
        retry_at: failed ? (u.retryAt?.toISOString() ?? null) : null,
        error_code: u.errorCode,
        price: u.price,
      };
    }),
  );
  const rows = await queryRows<{
    ord: number;
    id: string;
    notification_id: string;
    user_id: string;
    applied: boolean;
    status: string;
    attempts: number;
    max_attempts: number;
  }>(
    q,
    sql`with v as (
      select * from jsonb_to_recordset(${payload}::jsonb) as v(
        ord int, sid text, status text, rank int, delivered boolean, failed boolean,
        retry_at timestamptz, error_code text, price text)
    ), cur as (
      select v.*, d.id, d.status as cur_status, d.provider_status as cur_provider_status,
             d.notification_id, d.attempts, d.max_attempts, n.user_id
      from v
      join deliveries d on d.provider_message_id = v.sid
      join notifications n on n.id = d.notification_id
      for update of d
    ), decision as (
      select cur.*,
             (cur.cur_status = 'sent' and cur.rank > coalesce((${RANKS}::jsonb ->> cur.cur_provider_status)::int, -1)) as apply,
             (cur.failed and cur.retry_at is not null and cur.attempts < cur.max_attempts) as retry
      from cur
    ), upd as (
      update deliveries d
      set provider_status = x.status,
          status = case when x.delivered then 'delivered' when x.retry then 'queued'
                        when x.failed then 'failed' else d.status end,
          next_attempt_at = case when x.retry then x.retry_at else d.next_attempt_at end,
          error_code = coalesce(x.error_code, d.error_code),
          delivered_at = case when x.delivered then now() else d.delivered_at end,
          failed_at = case when x.failed and not x.retry then now() else d.failed_at end,
          details = case when x.price is null then d.details
                         else coalesce(d.details, '{}'::jsonb) || jsonb_build_object('price', x.price) end,
          updated_at = now()
      from decision x where d.id = x.id and x.apply
      returning d.id, d.status
    ), meta as (
      update notifications n
      set metadata = jsonb_set(n.metadata, '{sms}', coalesce(n.metadata->'sms', '{}'::jsonb)
            || jsonb_build_object('status', x.status, 'updated_at', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
            || case when x.error_code is null then '{}'::jsonb else jsonb_build_object('error_code', x.error_code) end)
      from upd join decision x on x.id = upd.id
      where n.id = x.notification_id
    ), hist as (
      insert into delivery_status_history (delivery_id, from_status, to_status, provider_status, error_code, detail)
      select x.id, x.cur_status, coalesce(upd.status, x.cur_status), x.status, x.error_code,
             case when upd.id is null then 'status callback ignored: not newer than ' || coalesce(x.cur_provider_status, x.cur_status)
                  else 'status callback' end
      from decision x left join upd on upd.id = x.id
      order by x.ord
    )
    select x.ord, x.id, x.notification_id, x.user_id, (upd.id is not null) as applied,
           coalesce(upd.status, x.cur_status) as status, x.attempts, x.max_attempts
    from decision x left join upd on upd.id = x.id`,
  );
  const byOrd = new Map(rows.map((r) => [Number(r.ord), r]));
  return updates.map((_, ord) => {
    const row = byOrd.get(ord);
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
  });
}

/**
 * Status reports arrive one HTTP request each (three per SMS); written one statement apiece they
 * cost a round trip each. This writer group-commits them: each caller still awaits its own result.
 */
export class ProviderStatusWriter {
  readonly #commit: GroupCommit<ProviderStatusUpdate, AppliedStatus | undefined>;

  constructor(q: Queryable, maxBatch = 500) {
    this.#commit = new GroupCommit((updates) => applyProviderStatuses(q, updates), {
      maxBatch,
      key: (u) => u.providerMessageId,
    });
  }

  apply(update: ProviderStatusUpdate): Promise<AppliedStatus | undefined> {
    return this.#commit.submit(update);
  }
}
