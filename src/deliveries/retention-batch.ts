/**
 * Retention's batch of old notifications (src/retention/, docs/retention.md): a notification goes
 * when it is older than `before` and none of its deliveries is queued or sending (a scheduled send,
 * a retry, a digest still waiting), with its deliveries and their history; its inbound replies
 * stay, their link set null by the foreign key. The deliveries are locked before their states are
 * read, so one re-queued meanwhile (a resend) keeps its notification. Oldest first by (created_at,
 * id) after the cursor, so an old notification kept on purpose is read once per run.
 */
import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';

export interface RetentionBatchArgs {
  before: Date;
  /** Where the previous batch stopped: its last row's created_at (text, to the microsecond) and id. */
  after: readonly string[] | null;
  limit: number;
  /** Count what would go, delete nothing: the same scan, so its counts are what a run deletes. */
  dryRun: boolean;
}

export interface RetentionBatchResult {
  counts: Record<string, number>;
  scanned: number;
  cursor: readonly string[] | null;
}

/** The tables a batch deletes from, children first: the order of its counts. */
export const FINISHED_NOTIFICATION_TABLES = [
  'delivery_status_history',
  'deliveries',
  'notifications',
] as const;

export async function deleteFinishedNotifications(
  q: Queryable,
  { before, after, limit, dryRun }: RetentionBatchArgs,
): Promise<RetentionBatchResult> {
  const from = after
    ? sql`and (n.created_at, n.id) > (${after[0]}::timestamptz, ${after[1]}::bigint)`
    : sql``;
  const head = sql`
    with scanned as (
      select n.id, n.created_at from notifications n
      where n.created_at < ${before.toISOString()}::timestamptz ${from}
      order by n.created_at, n.id limit ${limit}
    ), locked as (
      select d.id, d.notification_id, d.status from deliveries d join scanned s on s.id = d.notification_id
      ${dryRun ? sql`` : sql`for update of d`}
    ), doomed as (
      select s.id from scanned s
      where not exists (select 1 from locked l where l.notification_id = s.id and l.status in ('queued', 'sending'))
    ), last as (
      select created_at::text as at, id::text as id from scanned order by created_at desc, id desc limit 1
    )`;
  // Children first, in one statement: the foreign keys' cascades then find nothing left to do.
  const body = dryRun
    ? sql`, h as (select 1 from delivery_status_history h join locked l on l.id = h.delivery_id
                  join doomed x on x.id = l.notification_id),
          dl as (select 1 from locked l join doomed x on x.id = l.notification_id),
          nn as (select 1 from doomed)`
    : sql`, h as (delete from delivery_status_history h using locked l, doomed x
                  where h.delivery_id = l.id and l.notification_id = x.id returning 1),
          dl as (delete from deliveries d using doomed x where d.notification_id = x.id returning 1),
          nn as (delete from notifications n using doomed x where n.id = x.id returning 1)`;
  const [row] = await queryRows<{
    h: number;
    dl: number;
    nn: number;
    scanned: number;
    at: string | null;
    id: string | null;
  }>(
    q,
    sql`${head}${body}
        select (select count(*)::int from h) as h, (select count(*)::int from dl) as dl,
               (select count(*)::int from nn) as nn, (select count(*)::int from scanned) as scanned,
               (select at from last) as at, (select id from last) as id`,
  );
  return {
    counts: { delivery_status_history: row!.h, deliveries: row!.dl, notifications: row!.nn },
    scanned: row!.scanned,
    cursor: row!.at === null ? null : [row!.at, row!.id!],
  };
}
