import { sql } from 'drizzle-orm';
import type { ChannelName } from '../catalog/catalog.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { sqlInstant } from './sql-instant.ts';
import { fromGuard, onlyFrom, TRANSITIONS } from './state-machine.ts';

// Inline SQL, not a function like the claim: it runs once per reap interval, so planning it costs nothing.

/**
 * Give back deliveries whose worker died (lease expired while `sending`): queued again and flagged
 * `outcome_unknown` (its route: asked before now, of an unknown provider). Past the retry budget that attempt may still have sent, so a channel that can
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
          -- Which provider the dead attempt asked is not known, only that it was before now.
          details = coalesce(d.details, '{}'::jsonb) || jsonb_build_object('outcome_unknown', true,
            'route', jsonb_build_object('requested_at', (select now from clock))),
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
