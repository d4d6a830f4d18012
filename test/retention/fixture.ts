import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../../src/db/database.ts';
import type { RetentionOptions } from '../../src/retention/run-retention.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { type SeedDelivery, seed } from '../stats/fixture.ts';

export const DAY_MS = 86_400_000;
/** The window every test uses; rows are placed relative to the real now, the TestClock's start. */
export const WINDOW_DAYS = 30;
export const options = (o: Partial<RetentionOptions> = {}): RetentionOptions => ({
  windows: { notifications: WINDOW_DAYS, inboundSms: WINDOW_DAYS },
  batchSize: 2,
  pauseMs: 0,
  ...o,
});

const daysAgo = (now: number, days: number, minutes = 0) =>
  new Date(now - days * DAY_MS - minutes * 60_000).toISOString();

const FINISHED: SeedDelivery[][] = [
  [
    { channel: 'sms', status: 'delivered', segments: 1, cost: 0.0832, price: '-0.08320' },
    { channel: 'in_app', status: 'delivered' },
  ],
  [{ channel: 'sms', status: 'failed', errorCode: '30003', segments: 1, cost: 0.0832 }],
  [{ channel: 'email', status: 'skipped', skipReason: 'disabled_by_user' }],
  // Handed over, no receipt ever came: finished once it is this old.
  [{ channel: 'sms', status: 'sent', segments: 2, cost: 0.1664 }],
  [{ channel: 'push', status: 'failed', errorCode: 'PUSH_SUBSCRIPTION_GONE' }],
];

/**
 * Five old finished notifications (40 days ago, every 7 minutes), two old unfinished ones (a
 * scheduled send still queued, among the finished ones; one sending, 42 days ago), three recent finished ones (10 days ago); a history
 * row per delivery; an idempotency key and an inbound SMS on each side of the window, the old
 * reply linked to an old notification.
 */
export async function seedRetention(db: Db, now: number): Promise<void> {
  const old = FINISHED.map((deliveries, i) => ({
    type: 'order_confirmed',
    createdAt: daysAgo(now, 40, i * 7),
    deliveries,
  }));
  const unfinished = [
    {
      type: 'order_picked_up',
      // Within 7 minutes of two deleted ones: it shares a rollup slot with at least one of them.
      createdAt: daysAgo(now, 40, 3),
      deliveries: [
        { channel: 'email', status: 'queued', nextAttemptAt: daysAgo(now, -1) },
        { channel: 'sms', status: 'delivered', segments: 1 },
      ] satisfies SeedDelivery[],
    },
    {
      type: 'order_picked_up',
      createdAt: daysAgo(now, 42),
      deliveries: [{ channel: 'sms', status: 'sending' }] satisfies SeedDelivery[],
    },
  ];
  const recent = FINISHED.slice(0, 3).map((deliveries, i) => ({
    type: 'payment_completed',
    createdAt: daysAgo(now, 10, i * 7),
    deliveries,
  }));
  await seed(db, [...old, ...unfinished, ...recent]);
  await db.execute(sql`insert into delivery_status_history (delivery_id, from_status, to_status, created_at)
                       select id, null, status, created_at from deliveries`);
  // Unique per seed: a test may seed twice into one database.
  const tag = randomUUID();
  await db.execute(sql`insert into idempotency_keys (scope, key, request_hash, created_at) values
                       (${tag}, 'old', 'h', ${daysAgo(now, 40)}::timestamptz),
                       (${tag}, 'new', 'h', ${daysAgo(now, 10)}::timestamptz)`);
  const user = await insertUser(db, `retention-${tag}`, { phone: '+919800000002' });
  const [first] = await queryRows<{ id: number }>(
    db,
    sql`select id from notifications order by created_at limit 1`,
  );
  await db.execute(sql`insert into inbound_sms (message_sid, user_id, from_phone, to_phone, body, notification_id, created_at)
                       values (${`SM-old-${tag}`}, ${user.id}, '+919800000002', '+15005550006', 'YES', ${first!.id}, ${daysAgo(now, 40)}::timestamptz),
                              (${`SM-new-${tag}`}, ${user.id}, '+919800000002', '+15005550006', 'YES', null, ${daysAgo(now, 10)}::timestamptz)`);
  // What autovacuum does on PostgreSQL: without statistics the rollup's seal plans each of its
  // ~170 statements over these 42 days as if the tables were large (about a second each there).
  await db.execute(sql`analyze`);
}

/** Rows per table, the way a test compares before and after. */
export async function tableCounts(db: Db): Promise<Record<string, number>> {
  const [row] = await queryRows<Record<string, number>>(
    db,
    sql`select (select count(*)::int from delivery_status_history) as delivery_status_history,
               (select count(*)::int from deliveries) as deliveries,
               (select count(*)::int from notifications) as notifications,
               (select count(*)::int from idempotency_keys) as idempotency_keys,
               (select count(*)::int from inbound_sms) as inbound_sms,
               (select count(*)::int from webhook_attempts) as webhook_attempts,
               (select count(*)::int from webhook_outbox) as webhook_outbox`,
  );
  return row!;
}

/** What the seed deletes at a 30-day window. */
export const EXPECTED_DELETED = {
  delivery_status_history: 6,
  deliveries: 6,
  notifications: 5,
  idempotency_keys: 1,
  inbound_sms: 1,
  webhook_attempts: 0,
  webhook_outbox: 0,
};
