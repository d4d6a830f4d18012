/**
 * The activity list's cases at volume, shared by bench/stats-volume.ts (its budgets at 1,000,000
 * notifications) and bench/table-growth.ts (flat as the table grows): the first page, a next page
 * and the filtered pages the console offers, with filter values chosen from the seeded data.
 */
import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../src/db/database.ts';
import { type ActivityFilter, activityPage } from '../src/deliveries/activity-query.ts';

export interface ActivitySamples {
  /** External ids of the user with the most notifications and of a median one. */
  heavy: string;
  typical: string;
  /** An old SMS: its SID, its notification's public id and creation time. */
  sid: string;
  notification_id: string;
  at: string;
  /** The second page's cursor, taken once: the case then times (and explains) that page alone. */
  secondPage: string | undefined;
}

export interface ActivityCase {
  name: string;
  /** Unfiltered pages (first, next) have the tighter budget of the two. */
  filtered: boolean;
  run: (q: Queryable) => Promise<unknown>;
}

/** Real values to filter by, chosen from the seeded data rather than assumed; `oldBefore` dates the old SMS. */
export async function pickActivitySamples(q: Queryable, oldBefore: Date): Promise<ActivitySamples> {
  const [users] = await queryRows<{ heavy: string; typical: string }>(
    q,
    sql`with c as (select user_id, count(*) as n from notifications group by user_id)
        select (select u.external_id from c join users u on u.id = c.user_id order by c.n desc limit 1) as heavy,
               (select u.external_id from c join users u on u.id = c.user_id
                order by c.n limit 1 offset (select count(*) / 2 from c)) as typical`,
  );
  // A sid lookup must not depend on the row being recent.
  const [old] = await queryRows<{ sid: string; notification_id: string; at: string }>(
    q,
    sql`select d.provider_message_id as sid, n.notification_id, n.created_at::text as at
        from notifications n join deliveries d on d.notification_id = n.id
        where n.created_at < ${oldBefore.toISOString()}::timestamptz and d.provider_message_id like 'SM%'
        order by n.created_at desc limit 1`,
  );
  if (!users?.heavy || !users.typical || !old)
    throw new Error('the database holds no seeded volume: run bench:seed');
  const secondPage = (await activityPage(q, {})).next_cursor ?? undefined;
  return { ...users, ...old, secondPage };
}

/** `range.from` starts the time-range cases; `range.label` says where that is in their names. */
export function activityCases(s: ActivitySamples, range: { from: Date; label: string }): ActivityCase[] {
  const page = (name: string, filter: ActivityFilter): ActivityCase => ({
    name: `activity ${name}`,
    filtered: true,
    run: (q) => activityPage(q, filter),
  });
  const from = range.from.getTime();
  return [
    { name: 'activity first page', filtered: false, run: (q) => activityPage(q, {}) },
    {
      name: 'activity second page (cursor)',
      filtered: false,
      run: (q) => activityPage(q, {}, { cursor: s.secondPage }),
    },
    page('by user (the heaviest)', { userId: s.heavy }),
    page('by user (a typical one)', { userId: s.typical }),
    page('by type (common: order_confirmed)', { type: 'order_confirmed' }),
    page('by type (rare: promo_offer)', { type: 'promo_offer' }),
    page('by type (none: welcome)', { type: 'welcome' }),
    page('by channel (push)', { channel: 'push' }),
    page('by status (failed)', { status: 'failed' }),
    page('by status (queued)', { status: 'queued' }),
    page('by channel + status (push failed)', { channel: 'push', status: 'failed' }),
    page('by channel + status (in_app failed: none)', { channel: 'in_app', status: 'failed' }),
    page('by error code (30003)', { errorCode: '30003' }),
    page('by error code (LEASE_EXPIRED: none)', { errorCode: 'LEASE_EXPIRED' }),
    page('by provider sid', { providerMessageId: s.sid }),
    page('by notification id', { notificationId: s.notification_id }),
    page(`by time range (1 h, ${range.label})`, { from: new Date(from), to: new Date(from + 3_600_000) }),
    page(`by time range + status (1 day, ${range.label}, failed)`, {
      from: new Date(from),
      to: new Date(from + 86_400_000),
      status: 'failed',
    }),
    page('by user + status (heaviest, failed)', { userId: s.heavy, status: 'failed' }),
  ];
}
