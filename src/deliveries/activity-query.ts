/**
 * The activity list: every notification, newest first, filtered and cursor-paginated, each with a
 * summary of its deliveries. The console's activity page and its CSV export read it (issue 15);
 * one SQL statement per page, whatever the filters.
 *
 * Order and cursor: `(created_at, id)` descending. The cursor is the last row's key, with
 * created_at to the microsecond as PostgreSQL stores it (a JS Date keeps milliseconds, and two
 * notifications in one millisecond would otherwise be skipped or shown twice across a page break),
 * so a page never depends on an offset and rows created meanwhile never shift it.
 *
 * Filters, all optional and combined with AND: the user (external id), type, time range
 * [from, to) on created_at, the public notification id, and — about one delivery — channel,
 * status, error code and provider message id: a notification matches when one of its deliveries
 * has all the delivery filters given (channel=sms&status=failed is "an SMS that failed", not "some
 * delivery failed and there is an SMS").
 *
 * Indexes it relies on at volume (migration 0014; figures in docs/performance.md): notifications
 * (created_at, id) for the unfiltered pages and time ranges, (user_id, created_at) per user,
 * (type, created_at, id) per type, the unique public id; deliveries (notification_id, channel) for
 * the summaries and for a delivery filter checked newest notification first; the partial indexes
 * on error_code and on the SID, and (status, channel, notification_id), to count the matches.
 *
 * A delivery filter is answered one of two ways, chosen by counting its matches (at most
 * RARE_MATCHES + 1, from the index the filter leads with) rather than by the planner's estimate,
 * so that neither grows with the table (issue 20 §5, "Table growth" in docs/performance.md): a
 * rare filter (a SID, an error code that seldom happens, a channel × status pair that never does)
 * reads its few matching deliveries and sorts their notifications; a common one walks the
 * notifications newest first and checks each, which stops after a page. Left to the planner, an
 * estimate off by a few thousand rows sent an empty pair down the walk through every notification
 * (9 s at 1.4M), and a common pair to reading all its matches (linear in the table).
 */

import { type SQL, sql } from 'drizzle-orm';
import type { ChannelName } from '../catalog/catalog.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import type { DeliveryStatus } from '../db/schema.ts';

export interface ActivityFilter {
  /** The user's external id (what the API calls user_id). */
  userId?: string | undefined;
  type?: string | undefined;
  channel?: ChannelName | undefined;
  status?: DeliveryStatus | undefined;
  errorCode?: string | undefined;
  /** created_at ≥ from (inclusive). */
  from?: Date | undefined;
  /** created_at < to (exclusive). */
  to?: Date | undefined;
  /** The public notification id. */
  notificationId?: string | undefined;
  /** The provider's message id (a Twilio SID, an email Message-ID). */
  providerMessageId?: string | undefined;
}

export interface ActivityDelivery {
  channel: ChannelName;
  status: DeliveryStatus;
  skip_reason: string | null;
  error_code: string | null;
  provider_message_id: string | null;
  attempts: number;
}

export interface ActivityItem {
  notification_id: string;
  user_id: string;
  type: string;
  category: string;
  priority: string;
  title: string;
  created_at: string;
  is_read: boolean;
  /** In creation order. */
  deliveries: ActivityDelivery[];
}

export interface ActivityPage {
  items: ActivityItem[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

export const ACTIVITY_PAGE_DEFAULT = 50;
/**
 * Up to this many matching deliveries a filter is rare: reading them all (index entries, then
 * their notifications by key) costs about what walking the newest notifications until a page is
 * found costs when one in (notifications ÷ this) matches, at the ten million deliveries measured.
 */
const RARE_MATCHES = 10_000;
export const ACTIVITY_PAGE_MAX = 200;

/** A cursor that is not one this module issued (a 400 at the API). */
export class ActivityCursorError extends Error {}

interface CursorKey {
  /** created_at as PostgreSQL prints it in UTC, to the microsecond. */
  at: string;
  id: string;
}

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.at, key.id])).toString('base64url');
}

export function decodeCursor(cursor: string): CursorKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ActivityCursorError('cursor is not one this list issued');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    !CURSOR_AT.test(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    !/^[1-9]\d{0,18}$/.test(parsed[1])
  ) {
    throw new ActivityCursorError('cursor is not one this list issued');
  }
  return { at: parsed[0], id: parsed[1] };
}

export async function activityPage(
  q: Queryable,
  filter: ActivityFilter,
  page: { limit?: number; cursor?: string | undefined } = {},
): Promise<ActivityPage> {
  const limit = page.limit ?? ACTIVITY_PAGE_DEFAULT;
  if (!Number.isInteger(limit) || limit < 1 || limit > ACTIVITY_PAGE_MAX) {
    throw new RangeError(`limit must be an integer from 1 to ${ACTIVITY_PAGE_MAX}`);
  }
  const key = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
  const where: SQL[] = [];
  if (filter.userId !== undefined) {
    // A subquery, not a join: the planner then reads one user's rows from (user_id, created_at, id).
    where.push(sql`n.user_id = (select u.id from users u where u.external_id = ${filter.userId})`);
  }
  if (filter.type !== undefined) where.push(sql`n.type = ${filter.type}`);
  if (filter.notificationId !== undefined) where.push(sql`n.notification_id = ${filter.notificationId}`);
  if (filter.from !== undefined) where.push(sql`n.created_at >= ${filter.from.toISOString()}::timestamptz`);
  if (filter.to !== undefined) where.push(sql`n.created_at < ${filter.to.toISOString()}::timestamptz`);
  if (key) {
    // The row comparison is the exact keyset; the plain bound beside it lets an index on
    // (x, created_at, id) start at the cursor instead of filtering its way there.
    where.push(sql`n.created_at <= ${key.at}::timestamptz`);
    where.push(sql`(n.created_at, n.id) < (${key.at}::timestamptz, ${key.id}::bigint)`);
  }
  const onDelivery: SQL[] = [];
  if (filter.channel !== undefined) onDelivery.push(sql`d.channel = ${filter.channel}`);
  if (filter.status !== undefined) onDelivery.push(sql`d.status = ${filter.status}`);
  if (filter.errorCode !== undefined) {
    // "is not null" lets the planner use the partial index on error codes.
    onDelivery.push(sql`d.error_code = ${filter.errorCode} and d.error_code is not null`);
  }
  if (filter.providerMessageId !== undefined) {
    // As in lc_apply_provider_statuses: the index on the SID is partial (migration 0006).
    onDelivery.push(
      sql`d.provider_message_id = ${filter.providerMessageId} and d.provider_message_id is not null`,
    );
  }
  // The page's notifications, newest first, with these conditions besides the filters above.
  const notificationsWhere = (extra: SQL[]) => {
    const all = [...where, ...extra];
    return sql`select n.id, n.notification_id, n.user_id, n.type, n.category, n.priority, n.title, n.read_at,
                      n.created_at
               from notifications n
               ${all.length > 0 ? sql`where ${sql.join(all, sql` and `)}` : sql``}
               order by n.created_at desc, n.id desc
               limit ${limit + 1}`;
  };
  let matched = sql``;
  let source: SQL;
  if (onDelivery.length === 0) {
    source = notificationsWhere([]);
  } else {
    const match = sql.join(onDelivery, sql` and `);
    // A subquery with a limit is not turned into a join: each notification is checked in turn,
    // newest first, and the scan stops at a full page.
    const walk = sql`(select 1 from deliveries d where d.notification_id = n.id and ${match} limit 1) is not null`;
    if (
      filter.status === undefined &&
      filter.errorCode === undefined &&
      filter.providerMessageId === undefined
    ) {
      // A channel alone is never rare (a handful of channels), and no index leads with it.
      source = notificationsWhere([walk]);
    } else {
      // The two branches' conditions on `rare` are evaluated once, before either reads a row:
      // only one of them runs.
      matched = sql`with matched as materialized (
                      select d.notification_id from deliveries d where ${match} limit ${RARE_MATCHES + 1}
                    ), rare as (select count(*) <= ${RARE_MATCHES} as yes from matched) `;
      source = sql`(${notificationsWhere([sql`n.id in (select notification_id from matched)`, sql`(select yes from rare)`])})
                   union all
                   (${notificationsWhere([walk, sql`not (select yes from rare)`])})`;
    }
  }
  // The item, plus the cursor's parts (the row id, the creation time to the microsecond).
  const rows = await queryRows<ActivityItem & { id: string; at: string }>(
    q,
    sql`${matched}select p.id::text as id,
               to_char(p.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at,
               p.notification_id, u.external_id as user_id, p.type, p.category, p.priority, p.title,
               to_char(p.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at,
               p.read_at is not null as is_read,
               (select coalesce(json_agg(json_build_object(
                         'channel', d.channel, 'status', d.status, 'skip_reason', d.skip_reason,
                         'error_code', d.error_code, 'provider_message_id', d.provider_message_id,
                         'attempts', d.attempts) order by d.id), '[]'::json)
                from deliveries d where d.notification_id = p.id) as deliveries
        from (${source}) p
        join users u on u.id = p.user_id
        order by p.created_at desc, p.id desc`,
  );
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items.at(-1);
  return {
    items: items.map(({ id: _id, at: _at, ...item }) => item),
    next_cursor: more && last ? encodeCursor({ at: last.at, id: last.id }) : null,
  };
}
