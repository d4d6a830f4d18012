import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../../src/db/database.ts';
import { insertUser } from '../helpers/fixtures.ts';

/** One delivery row as the stats read it; everything not given is what a fresh row has. */
export interface SeedDelivery {
  channel: 'in_app' | 'sms' | 'email' | 'push';
  status: 'skipped' | 'queued' | 'sending' | 'sent' | 'delivered' | 'failed';
  skipReason?: string;
  errorCode?: string;
  segments?: number;
  cost?: number;
  /** Twilio's price as it reports it (a negative string). */
  price?: string;
  nextAttemptAt?: string;
  /** The SMS provider the route chose (`details.route.provider`). */
  provider?: string;
}

export interface SeedNotification {
  type: string;
  createdAt: string;
  deliveries: SeedDelivery[];
}

let seq = 0;

/** Direct rows (no worker, no clock): the exact states each table test counts. */
export async function seed(db: Db, notifications: SeedNotification[]): Promise<void> {
  const user = await insertUser(db, `stats-user-${++seq}`, { phone: '+919800000001' });
  for (const n of notifications) {
    const id = `stats-${++seq}`;
    const [row] = await queryRows<{ id: number }>(
      db,
      sql`insert into notifications (notification_id, user_id, type, category, priority, title, message, created_at)
          values (${id}, ${user.id}, ${n.type}, 'order_updates', 'regular', 't', 'm', ${n.createdAt}::timestamptz)
          returning id`,
    );
    for (const d of n.deliveries) {
      const handed =
        ['sent', 'delivered'].includes(d.status) || (d.status === 'failed' && d.segments !== undefined);
      const details =
        d.segments === undefined && d.price === undefined && d.provider === undefined
          ? null
          : JSON.stringify({
              segments: d.segments,
              ...(d.price ? { price: d.price } : {}),
              ...(d.provider ? { route: { provider: d.provider } } : {}),
            });
      await db.execute(
        sql`insert into deliveries (notification_id, channel, status, skip_reason, max_attempts, next_attempt_at,
              error_code, cost_amount, cost_currency, details, created_at, sent_at)
            values (${row!.id}, ${d.channel}, ${d.status}, ${d.skipReason ?? null}, 3,
              ${d.nextAttemptAt ?? null}::timestamptz, ${d.errorCode ?? null}, ${d.cost ?? null},
              ${d.cost === undefined ? null : 'USD'}, ${details}::jsonb, ${n.createdAt}::timestamptz,
              ${handed ? n.createdAt : null}::timestamptz)`,
      );
    }
  }
}
