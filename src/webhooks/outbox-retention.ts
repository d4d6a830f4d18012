/**
 * Retention's batch of old webhook messages (src/retention/, docs/retention.md): an outbox row goes
 * when it is older than `before` and finished — delivered, or given up (`dead`) — with its attempts;
 * one still to send (pending, or failed with a retry due) stays whatever its age. Rows are locked
 * before their state is read, so one replayed meanwhile (back to pending) is kept. Oldest first by
 * id (ids grow with time) after the cursor, so a row kept on purpose is read once per run.
 */
import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';

/** The tables a batch deletes from, children first: the order of its counts. */
export const FINISHED_WEBHOOK_TABLES = ['webhook_attempts', 'webhook_outbox'] as const;

export async function deleteFinishedWebhookMessages(
  q: Queryable,
  {
    before,
    after,
    limit,
    dryRun,
  }: { before: Date; after: readonly string[] | null; limit: number; dryRun: boolean },
): Promise<{ counts: Record<string, number>; scanned: number; cursor: readonly string[] | null }> {
  const from = after ? sql`and o.id > ${after[0]}::bigint` : sql``;
  const head = sql`
    with scanned as (
      select o.id from webhook_outbox o
      where o.created_at < ${before.toISOString()}::timestamptz ${from}
      order by o.id limit ${limit}
    ), doomed as (
      select o.id from webhook_outbox o join scanned s on s.id = o.id
      where o.state in ('delivered', 'dead') ${dryRun ? sql`` : sql`for update of o`}
    )`;
  const body = dryRun
    ? sql`, a as (select 1 from webhook_attempts a join doomed x on x.id = a.outbox_id),
          o as (select 1 from doomed)`
    : sql`, a as (delete from webhook_attempts a using doomed x where a.outbox_id = x.id returning 1),
          o as (delete from webhook_outbox o using doomed x where o.id = x.id returning 1)`;
  const [row] = await queryRows<{ a: number; o: number; scanned: number; last: string | null }>(
    q,
    sql`${head}${body}
        select (select count(*)::int from a) as a, (select count(*)::int from o) as o,
               (select count(*)::int from scanned) as scanned, (select max(id)::text from scanned) as last`,
  );
  return {
    counts: { webhook_attempts: row!.a, webhook_outbox: row!.o },
    scanned: row!.scanned,
    cursor: row!.last === null ? null : [row!.last],
  };
}
