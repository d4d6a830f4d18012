import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { TestClock } from '../../src/clock.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { startRetentionJob } from '../../src/retention/retention-job.ts';
import { type RetentionReport, runRetention } from '../../src/retention/run-retention.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from '../helpers/test-db.ts';
import { EXPECTED_DELETED, options, seedRetention, tableCounts } from './fixture.ts';

/** A second node: its own pool on PostgreSQL; on PGlite the one process's database. */
async function secondNode(t: TestDatabase): Promise<{ database: Database; close(): Promise<void> }> {
  if (!t.url) return { database: t.database, close: async () => {} };
  const database = await openDatabase({ databaseUrl: t.url, dataDir: 'unused', logger: silentLogger });
  return { database, close: () => database.close() };
}

describe('retention across nodes', () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.close());

  test('while one run holds the lock, a second one skips and deletes nothing', async () => {
    const clock = new TestClock();
    await seedRetention(t.database.db, clock.now());
    const other = await secondNode(t);
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let firstBatch!: () => void;
      const started = new Promise<void>((r) => {
        firstBatch = r;
      });
      // The first run waits after its first batch, lock held, until the second has tried.
      const first = runRetention(
        { database: t.database, clock },
        options({
          onBatch: async ({ batches, target }) => {
            if (batches !== 1 || target !== 'notifications') return;
            firstBatch();
            await held;
          },
        }),
      );
      await started;
      const second = await runRetention({ database: other.database, clock }, options({ batchSize: 1000 }));
      release();
      const report = await first;
      assert.equal(second.skipped, 'locked');
      assert.ok(
        Object.values(second.deleted).every((n) => n === 0),
        'the second deleted nothing',
      );
      assert.deepEqual(report.deleted, EXPECTED_DELETED, 'the first deleted everything due');
      // Once the first is done the lock is free again: a third run finds nothing left.
      const third = await runRetention({ database: other.database, clock }, options());
      assert.equal(third.skipped, undefined);
      assert.ok(Object.values(third.deleted).every((n) => n === 0));
    } finally {
      await other.close();
    }
  });

  test('the worker job runs on its clock, and a second node within the interval skips', async () => {
    const clock = new TestClock();
    // The run of the test above is recent on this clock too: start as if none had run.
    await t.database.db.execute(sql`delete from retention_state`);
    await seedRetention(t.database.db, clock.now());
    const before = await tableCounts(t.database.db);
    const other = await secondNode(t);
    const passes: Array<[node: string, report: RetentionReport]> = [];
    let passed = () => {};
    const job = (node: string, database: Database) =>
      startRetentionJob({
        ...options({ batchSize: 1000 }),
        database,
        clock,
        logger: silentLogger,
        intervalMs: 3_600_000,
        onPass: (r) => {
          passes.push([node, r]);
          passed();
        },
      });
    const waitPasses = (n: number) =>
      new Promise<void>((resolve) => {
        passed = () => passes.length >= n && resolve();
        passed();
      });
    const stopA = job('a', t.database);
    try {
      assert.equal(passes.length, 0, 'nothing before the clock moves');
      clock.advance(0);
      await waitPasses(1);
      assert.equal(passes[0]![1].skipped, undefined);
      const after = await tableCounts(t.database.db);
      assert.equal(after['notifications'], before['notifications']! - EXPECTED_DELETED.notifications);
      // Node b starts a minute later: its pass sees a's recent run and skips.
      const stopB = job('b', other.database);
      try {
        clock.advance(60_000);
        await waitPasses(2);
        assert.deepEqual(passes[1]![0], 'b');
        assert.equal(passes[1]![1].skipped, 'recent');
        // An interval after a's pass, a runs again (nothing old is left).
        clock.advance(3_600_000 - 60_000);
        await waitPasses(3);
        assert.equal(passes[2]![0], 'a');
        assert.equal(passes[2]![1].skipped, undefined);
      } finally {
        await stopB();
      }
    } finally {
      await stopA();
      await other.close();
    }
  });
});
