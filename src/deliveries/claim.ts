import { sql } from 'drizzle-orm';
import type { ChannelName } from '../catalog/catalog.ts';
import type { AttemptRoute, DeliveryJob, EscalationWait } from '../channels/channel.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { type ProfileColumns, profileFromColumns } from './profile-columns.ts';
import { sqlInstant } from './sql-instant.ts';

/**
 * The claim: queued → sending, with a lease. The hot statement is the PL/pgSQL function
 * lc_claim_deliveries (live body in src/db/schema.sql), whose plan PostgreSQL caches.
 */

interface ClaimedRow extends ProfileColumns {
  id: string;
  attempts: number;
  max_attempts: number;
  channel: ChannelName;
  outcome_unknown: boolean | null;
  route: AttemptRoute | null;
  escalation: EscalationWait | null;
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
 * `limit` of each, oldest due first, `for update skip locked`, in two lanes (migration 0030): a
 * campaign's rows (details.campaign) only fill the room the regular ones leave, so an order's SMS
 * never waits behind a campaign's backlog. One round trip per pass, whatever the
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
    maxAttempts: r.max_attempts,
    title: r.title,
    message: r.message,
    context: r.context,
    user: { id: String(r.user_id), ...profileFromColumns(r) },
    outcomeUnknown: r.outcome_unknown === true,
    createdAt: new Date(Number(r.created_ms)),
    lastRoute: r.route,
    escalation: r.escalation,
  }));
}
