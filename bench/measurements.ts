/**
 * Reads what the service stored during the run, after it stopped: creation and delivery times of
 * every notification, and the status callbacks it stored, per second. Nothing is added to the
 * service for the benchmark: these are its ordinary rows and timestamps.
 */
import { sql } from 'drizzle-orm';
import { queryRows } from '../src/db/database.ts';
import type { NotificationRow, Window } from './analyse.ts';
import type { BenchDatabase } from './environment.ts';

export interface StoredFigures {
  notifications(window: Window): Promise<NotificationRow[]>;
  /** Status callbacks stored (history rows the callback handler wrote) per second of the window. */
  callbacksPerSecond(window: Window): Promise<number>;
  /** Deliveries (and history rows) written when a notification is accepted, from a sample. */
  deliveryShape(): Promise<{ channel: string; status: string }[]>;
  close(): Promise<void>;
}

export async function readStoredFigures(db: BenchDatabase): Promise<StoredFigures> {
  const database = await db.open();
  const q = database.db;
  return {
    async notifications(w) {
      const rows = await queryRows<{
        created_ms: number;
        sms_sid: string | null;
        in_app_ms: number | null;
        email_ms: number | null;
      }>(
        q,
        sql`select extract(epoch from n.created_at)::float8 * 1000 as created_ms,
              max(d.provider_message_id) filter (where d.channel = 'sms') as sms_sid,
              max(extract(epoch from d.delivered_at)::float8 * 1000) filter (where d.channel = 'in_app') as in_app_ms,
              max(extract(epoch from coalesce(d.delivered_at, d.sent_at))::float8 * 1000)
                filter (where d.channel = 'email') as email_ms
            from notifications n join deliveries d on d.notification_id = n.id
            where n.created_at >= to_timestamp(${w.from}::float8 / 1000)
              and n.created_at < to_timestamp(${w.to}::float8 / 1000)
            group by n.id`,
      );
      return rows.map((r) => ({
        createdMs: Number(r.created_ms),
        smsSid: r.sms_sid,
        inAppMs: r.in_app_ms === null ? null : Number(r.in_app_ms),
        emailMs: r.email_ms === null ? null : Number(r.email_ms),
      }));
    },
    async callbacksPerSecond(w) {
      const [row] = await queryRows<{ n: number }>(
        q,
        sql`select count(*)::int as n from delivery_status_history
            where detail like 'status callback%'
              and created_at >= to_timestamp(${w.from}::float8 / 1000)
              and created_at < to_timestamp(${w.to}::float8 / 1000)`,
      );
      return Number(row?.n ?? 0) / ((w.to - w.from) / 1000);
    },
    async deliveryShape() {
      return queryRows<{ channel: string; status: string }>(
        q,
        sql`select d.channel, h.to_status as status
            from deliveries d join delivery_status_history h on h.delivery_id = d.id and h.from_status is null
            where d.notification_id = (select min(id) from notifications)
            order by d.id`,
      );
    },
    close: () => database.close(),
  };
}
