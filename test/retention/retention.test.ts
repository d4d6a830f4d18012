import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { TestClock } from '../../src/clock.ts';
import { queryRows } from '../../src/db/database.ts';
import { runRetention } from '../../src/retention/run-retention.ts';
import { deliveryStats } from '../../src/stats/delivery-stats.ts';
import { sealStats } from '../../src/stats/stats-rollup.ts';
import { resolveWindow } from '../../src/stats/stats-window.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.ts';
import { DAY_MS, EXPECTED_DELETED, options, seedRetention, tableCounts } from './fixture.ts';

describe('retention', () => {
  let t: TestDatabase;
  let clock: TestClock;
  before(async () => {
    t = await createTestDatabase();
    clock = new TestClock();
    await seedRetention(t.database.db, clock.now());
  });
  after(() => t.close());

  // Each test below builds on the one before (a dry run, then the run it predicted).
  test('a dry run counts what a run would delete, and deletes nothing', async () => {
    const rowsBefore = await tableCounts(t.database.db);
    const batches: string[] = [];
    const report = await runRetention(
      { database: t.database, clock },
      options({
        dryRun: true,
        onBatch: (p) => {
          batches.push(p.target);
        },
      }),
    );
    assert.equal(report.skipped, undefined);
    assert.deepEqual(report.deleted, EXPECTED_DELETED);
    assert.deepEqual(await tableCounts(t.database.db), rowsBefore, 'nothing deleted');
    // 7 old notifications at 2 a batch: 4 batches (the last one short); 1 old key, 1 old SMS.
    assert.equal(batches.filter((b) => b === 'notifications').length, 4);
    const [state] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from retention_state`,
    );
    assert.equal(state!.n, 0, 'a dry run records no run');
  });

  test('old and finished rows go in batches; recent and unfinished ones stay; old days still answer from the rollup', async () => {
    const now = new Date(clock.now());
    // The old days, read from the rows (nothing is sealed before the run).
    const oldDays = resolveWindow({
      from: new Date(now.getTime() - 45 * DAY_MS),
      to: new Date(now.getTime() - 35 * DAY_MS),
      timeZone: 'UTC',
      granularity: 'day',
      now,
    });
    const statsBefore = await deliveryStats(t.database.db, oldDays, now);
    assert.equal(statsBefore.channels.sms.total, 5, 'the fixture has old SMS to count');
    const rowsBefore = await tableCounts(t.database.db);

    const batches: number[] = [];
    const report = await runRetention(
      { database: t.database, clock },
      options({
        onBatch: (p) => {
          batches.push(p.batches);
        },
      }),
    );
    assert.deepEqual(report.deleted, EXPECTED_DELETED, 'what the dry run counted');
    assert.ok(batches.length >= 6, `several batches of 2 (${batches.length})`);
    const rowsAfter = await tableCounts(t.database.db);
    for (const [table, n] of Object.entries(EXPECTED_DELETED)) {
      assert.equal(rowsAfter[table], rowsBefore[table]! - n, table);
    }

    const left = await queryRows<{ type: string; days: number }>(
      t.database.db,
      sql`select type, round(extract(epoch from (now() - created_at)) / 86400)::int as days from notifications order by created_at`,
    );
    assert.deepEqual(
      left.map((n) => `${n.type} ${n.days}`),
      [
        'order_picked_up 42',
        'order_picked_up 40',
        'payment_completed 10',
        'payment_completed 10',
        'payment_completed 10',
      ],
      'the unfinished old ones (sending; one delivery still queued) and the recent ones',
    );
    const [kept] = await queryRows<{ keys: string; sms: string }>(
      t.database.db,
      sql`select (select string_agg(key, ',') from idempotency_keys) as keys,
                 (select string_agg(left(message_sid, 6), ',') from inbound_sms) as sms`,
    );
    assert.deepEqual(kept, { keys: 'new', sms: 'SM-new' });

    // The same old days now come from the rollup: the same figures, though their rows are gone.
    assert.deepEqual(await deliveryStats(t.database.db, oldDays, now), statsBefore);
    const [marks] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from stats_dirty_slots`,
    );
    assert.equal(marks!.n, 0, "retention's deletions mark no slot dirty");
  });

  test('a later change in a final slot does not reopen it, and the state records the run', async () => {
    const now = new Date(clock.now());
    const oldDays = resolveWindow({
      from: new Date(now.getTime() - 45 * DAY_MS),
      to: new Date(now.getTime() - 35 * DAY_MS),
      timeZone: 'UTC',
      granularity: 'day',
      now,
    });
    const figures = await deliveryStats(t.database.db, oldDays, now);
    // A user deleted: their old, unfinished notifications go and mark their slots dirty, one of them
    // shared with a notification retention deleted: recomputed, it would lose that one's figures.
    await t.database.db.execute(sql`delete from notifications where type = 'order_picked_up'`);
    await sealStats(t.database.db);
    assert.deepEqual(
      (await deliveryStats(t.database.db, oldDays, now)).channels,
      figures.channels,
      'final slots keep their figures',
    );
    const [state] = await queryRows<{ deleted: Record<string, number>; finished: boolean }>(
      t.database.db,
      sql`select last_deleted as deleted, last_finished_at >= last_started_at as finished from retention_state`,
    );
    assert.deepEqual(state, { deleted: EXPECTED_DELETED, finished: true });
  });
});
