import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';
import { DELIVERIES_CHANNEL } from './enqueue.ts';
import { sqlInstant } from './sql-instant.ts';
import { fromGuard, onlyFrom, TRANSITIONS } from './state-machine.ts';

export interface ResentDelivery {
  id: number;
  channel: string;
  /** What the row held before the resend (the audit's "before"). */
  before: { status: string; attempts: number; error_code: string | null };
  after: { status: string; attempts: number; next_attempt_at: string };
}

/**
 * An operator's resend of a failed delivery (resend: failed → queued), with its history row, due at
 * `now` (the worker's clock). It gets exactly one more send: the worker tells a send from a
 * provider lookup by the attempt number against the channel's budget (retry-policy.ts
 * isLookupAttempt), so attempts is set to one below max_attempts and the next claim is the budget's
 * last send. The row lock and the from-guard make a second, concurrent resend find it no longer
 * failed: undefined, and nothing written. Run it in the transaction that records the audit entry.
 */
export async function resendFailedDelivery(
  tx: Queryable,
  deliveryId: number,
  detail: string,
  now: Date,
): Promise<ResentDelivery | undefined> {
  const [row] = await queryRows<{
    id: string;
    channel: string;
    from_attempts: number;
    from_error_code: string | null;
    attempts: number;
    next_attempt_at: string;
  }>(
    tx,
    sql`with before as (
      select id, attempts, error_code from deliveries
      where id = ${deliveryId} and ${fromGuard(sql`status`, 'resend')}
      for update
    ), resent as (
      update deliveries d
      set status = ${TRANSITIONS.resend.to}, attempts = greatest(d.max_attempts - 1, 0),
          next_attempt_at = ${sqlInstant(now)}::timestamptz, failed_at = null,
          lease_owner = null, lease_expires_at = null, updated_at = now()
      from before b
      where d.id = b.id and ${fromGuard(sql`d.status`, 'resend')}
      returning d.id, d.channel, d.attempts, d.next_attempt_at, b.attempts as from_attempts,
                b.error_code as from_error_code
    ), history as (
      insert into delivery_status_history (delivery_id, from_status, to_status, detail)
      select id, ${onlyFrom('resend')}, ${TRANSITIONS.resend.to}, ${detail} from resent
    )
    select id::text, channel, attempts, from_attempts, from_error_code,
           to_char(next_attempt_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as next_attempt_at
    from resent`,
  );
  if (!row) return undefined;
  // Wakes the worker now rather than at its next poll (and the console's live pages).
  await tx.execute(sql`select pg_notify(${DELIVERIES_CHANNEL}, ${row.channel})`);
  return {
    id: Number(row.id),
    channel: row.channel,
    before: { status: onlyFrom('resend'), attempts: row.from_attempts, error_code: row.from_error_code },
    after: { status: TRANSITIONS.resend.to, attempts: row.attempts, next_attempt_at: row.next_attempt_at },
  };
}
