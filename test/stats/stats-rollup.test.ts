import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/database.ts';
import { bucketStats, channelCounts, failureCodes, typeCounts } from '../../src/stats/delivery-stats.ts';
import { type Cover, rollupCover, sealStats } from '../../src/stats/stats-rollup.ts';
import { resolveWindow, type StatsWindow } from '../../src/stats/stats-window.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.ts';
import { type SeedDelivery, seed } from './fixture.ts';

// The rollup seals by the database's clock (slots over two hours old), so the rows are placed
// relative to the real now, at instants off the quarter hours.
const NOW = new Date();
const ago = (hours: number, minutes = 0) =>
  new Date(NOW.getTime() - (hours * 60 + minutes) * 60_000).toISOString();

const MIX: SeedDelivery[][] = [
  [
    { channel: 'sms', status: 'delivered', segments: 2, cost: 0.1664, price: '-0.16640' },
    { channel: 'in_app', status: 'delivered' },
  ],
  [
    { channel: 'sms', status: 'failed', errorCode: '30003', segments: 1, cost: 0.0832 },
    { channel: 'email', status: 'skipped', skipReason: 'disabled_by_user' },
  ],
  [{ channel: 'sms', status: 'sent', segments: 1, cost: 0.0832 }],
  [
    { channel: 'push', status: 'failed', errorCode: 'PUSH_SUBSCRIPTION_GONE' },
    { channel: 'sms', status: 'skipped', skipReason: 'quiet_hours' },
  ],
  [{ channel: 'email', status: 'queued', nextAttemptAt: ago(0, -10) }],
];
const TYPES = ['order_confirmed', 'order_picked_up', 'payment_completed'];

async function figures(t: TestDatabase, w: StatsWindow, cover: Cover | undefined) {
  const db = t.database.db;
  return {
    channels: await channelCounts(db, w, cover),
    buckets: await bucketStats(db, w, cover),
    failures: await failureCodes(db, w, cover),
    types: await typeCounts(db, w, cover),
  };
}

describe('the stats rollup', () => {
  let t: TestDatabase;
  const windows = () => [
    resolveWindow({ window: '7d', timeZone: 'Asia/Kolkata', now: NOW }),
    resolveWindow({ window: '30d', timeZone: 'America/St_Johns', now: NOW, granularity: 'day' }),
    // Off the quarter hours at both ends: the edges are read from the rows.
    resolveWindow({
      from: new Date(ago(70, 7)),
      to: new Date(ago(2, 53)),
      timeZone: 'Asia/Kathmandu',
      granularity: 'hour',
      now: NOW,
    }),
  ];

  before(async () => {
    t = await createTestDatabase();
    // Every 37 minutes over four days, and a few in the last hour (never sealed).
    const rows = Array.from({ length: 160 }, (_, i) => ({
      type: TYPES[i % TYPES.length]!,
      createdAt: ago(0, 20 + i * 37),
      deliveries: MIX[i % MIX.length]!,
    }));
    await seed(t.database.db, rows);
  });
  after(() => t.close());

  test('sealed, every figure is what the rows give', async () => {
    const before = await Promise.all(windows().map((w) => figures(t, w, undefined)));
    assert.equal(await rollupCover(t.database.db, windows()[0]!), undefined, 'nothing sealed yet');
    await sealStats(t.database.db);
    const [slots] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from stats_delivery_slots`,
    );
    assert.ok(slots!.n > 0, 'the seal wrote rollup rows');
    for (const [i, w] of windows().entries()) {
      const cover = await rollupCover(t.database.db, w);
      assert.ok(cover, `window ${i} reads the rollup`);
      assert.deepEqual(await figures(t, w, cover), before[i], `window ${i}`);
    }
  });

  test('a change to a sealed slot marks it dirty; read from the rows until sealed again', async () => {
    const db = t.database.db;
    await sealStats(db);
    // A late failure, a deleted notification (its deliveries go with it), a backfilled one.
    await db.execute(
      sql`update deliveries set status = 'failed', error_code = '30007'
          where id = (select min(d.id) from deliveries d
                      where d.status = 'delivered' and d.channel = 'sms' and d.created_at < now() - interval '1 day')`,
    );
    await db.execute(
      sql`delete from notifications where id = (select min(id) from notifications where created_at < now() - interval '1 day')`,
    );
    await seed(db, [{ type: 'welcome', createdAt: ago(30, 1), deliveries: MIX[0]! }]);
    const [dirty] = await queryRows<{ n: number }>(
      db,
      sql`select count(distinct slot)::int as n from stats_dirty_slots where slot < (select sealed_to from stats_seal)`,
    );
    assert.equal(dirty!.n, 3, 'the three changes marked their sealed slots');
    for (const [i, w] of windows().entries()) {
      const cover = await rollupCover(db, w);
      assert.deepEqual(await figures(t, w, cover), await figures(t, w, undefined), `window ${i}, dirty`);
    }
    await sealStats(db);
    // Rows between one and two hours old are marked but not sealed yet: their marks stay.
    const [left] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from stats_dirty_slots where slot < (select sealed_to from stats_seal)`,
    );
    assert.equal(left!.n, 0, 'the seal recomputed them');
    for (const [i, w] of windows().entries()) {
      const cover = await rollupCover(db, w);
      assert.deepEqual(await figures(t, w, cover), await figures(t, w, undefined), `window ${i}, resealed`);
    }
  });

  test('fresh rows (the hot path) mark nothing', async () => {
    const db = t.database.db;
    const marks = async () =>
      (await queryRows<{ n: number }>(db, sql`select count(*)::int as n from stats_dirty_slots`))[0]!.n;
    const before = await marks();
    await seed(db, [{ type: 'welcome', createdAt: NOW.toISOString(), deliveries: MIX[1]! }]);
    await db.execute(
      sql`update deliveries set status = 'delivered' where notification_id = (select max(id) from notifications)`,
    );
    assert.equal(await marks(), before);
  });
});
