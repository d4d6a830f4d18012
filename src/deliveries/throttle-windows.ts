import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';

/** The notification that holds a user's throttle window of a type: its public id and when it was stored. */
export interface WindowHolder {
  notificationId: string;
  createdAt: Date;
}

/**
 * For each (user, type) asked, the newest notification of that type created after `since` that
 * holds its throttle window (issue 18): one not throttled itself, i.e. with a delivery skipped for
 * another reason or not skipped at all. One query for any number of pairs (the batch's), on the
 * (user_id, created_at) index. Keyed `user:type`.
 */
export async function throttleWindowHolders(
  q: Queryable,
  pairs: ReadonlyArray<{ userId: number; type: string; since: Date }>,
): Promise<Map<string, WindowHolder>> {
  if (pairs.length === 0) return new Map();
  const rows = await queryRows<{
    user_id: string;
    type: string;
    notification_id: string;
    created_at: string | Date;
  }>(
    q,
    sql`select w."userId" as user_id, w.type, h.notification_id, h.created_at
        from jsonb_to_recordset(${JSON.stringify(pairs)}::jsonb) as w("userId" bigint, type text, since timestamptz)
        cross join lateral (
          select n.notification_id, n.created_at from notifications n
          where n.user_id = w."userId" and n.type = w.type and n.created_at > w.since
            and exists (select 1 from deliveries d
                        where d.notification_id = n.id and d.skip_reason is distinct from 'throttled')
          order by n.created_at desc, n.id desc limit 1) h`,
  );
  return new Map(
    rows.map((r) => [
      `${r.user_id}:${r.type}`,
      { notificationId: r.notification_id, createdAt: new Date(r.created_at) },
    ]),
  );
}
