import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { TestClock } from '../../src/clock.ts';
import { type Database, openDatabase, queryRows } from '../../src/db/database.ts';
import { startRetentionJob } from '../../src/retention/retention-job.ts';
import { type RetentionReport, runRetention } from '../../src/retention/run-retention.ts';
import { SEAL_LOCK, sealStats, startStatsSealer } from '../../src/stats/stats-rollup.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, silentLogger, type TestDatabase } from '../helpers/test-db.ts';
import { EXPECTED_DELETED, options, seedRetention, tableCounts } from './fixture.ts';

/**
 * What a long seal elsewhere looks like to a job: the sealers' lock held. On PostgreSQL another
 * session holds it (the job's statement waits on the server, where it can be cancelled); on PGlite,
 * one session in one process, a transaction left open does (the job's next statement waits in the
 * process, where nothing can interrupt it, so a stop takes effect once it is let go).
 */
async function holdSealLock(
  t: TestDatabase,
): Promise<{ blocked(): Promise<void>; release(): Promise<void> }> {
  if (!t.url) {
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let began!: () => void;
    const open = new Promise<void>((r) => {
      began = r;
    });
    const tx = t.database.db.transaction(async (q) => {
      await q.execute(sql`select 1`);
      began();
      await held;
    });
    await open;
    return {
      blocked: async () => {},
      release: async () => {
        release();
        await tx;
      },
    };
  }
  const client = new pg.Client({ connectionString: t.url });
  await client.connect();
  await client.query('begin');
  await client.query('select pg_advisory_xact_lock($1)', [SEAL_LOCK]);
  return {
    // The event itself: the job's session waiting for the lock on the server.
    async blocked() {
      await waitFor(
        async () => {
          const { rows } = await client.query<{ n: number }>(
            `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`,
          );
          return rows[0]!.n > 0;
        },
        60_000,
        'the job waiting for the seal lock',
      );
    },
    async release() {
      await client.query('rollback');
      await client.end();
    },
  };
}

/** Fails the test instead of hanging it when `p` does not settle (a stop still waiting). */
function settles<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} did not finish while the lock was held`)),
        STOP_WAIT_MS,
      );
    }),
  ]);
}

const onPostgres = (t: TestDatabase) => t.url !== undefined;

/** How long `settles` waits for a stop; the job's statements may run far longer (its database below). */
const STOP_WAIT_MS = 60_000;

/**
 * The job's database: on PostgreSQL a pool whose statement timeout is well past STOP_WAIT_MS, so
 * only a cancel, not the server's bound, can end the wait in time; on PGlite the test's own.
 */
async function jobDatabase(t: TestDatabase): Promise<{ database: Database; close(): Promise<void> }> {
  if (!t.url) return { database: t.database, close: async () => {} };
  const database = await openDatabase({
    databaseUrl: t.url,
    dataDir: 'unused',
    logger: silentLogger,
    timeouts: { statementMs: 10 * STOP_WAIT_MS },
  });
  return { database, close: () => database.close() };
}

async function sealedTo(t: TestDatabase): Promise<string | null> {
  const [row] = await queryRows<{ at: string | null }>(
    t.database.db,
    sql`select to_json(sealed_to) #>> '{}' as at from stats_seal`,
  );
  return row!.at;
}

describe('stopping a worker does not wait for retention or the stats seal', () => {
  // Each test its own database: the seal state is the point of both.
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase();
  });
  afterEach(() => t.close());

  test('a retention pass waiting on the seal lock is stopped, rolls back, and the next pass does it all', async () => {
    const clock = new TestClock();
    await seedRetention(t.database.db, clock.now());
    const counts = await tableCounts(t.database.db);
    const job = await jobDatabase(t);
    const lock = await holdSealLock(t);
    let released = false;
    try {
      let passed!: (r: RetentionReport) => void;
      const pass = new Promise<RetentionReport>((r) => {
        passed = r;
      });
      const stop = startRetentionJob({
        ...options({ batchSize: 1000 }),
        database: job.database,
        clock,
        logger: silentLogger,
        intervalMs: 3_600_000,
        onPass: passed,
      });
      clock.advance(0);
      await lock.blocked();
      const stopped = stop();
      if (onPostgres(t)) {
        // The statement waiting for the lock is cancelled: the stop ends while the lock is still held.
        await settles(stopped, 'the job’s stop');
      } else {
        await lock.release();
        released = true;
        await stopped;
      }
      const report = await pass;
      assert.equal(report.aborted, true, 'the pass says it was stopped');
      assert.equal(report.batches, 0, 'stopped before any batch');
      assert.deepEqual(await tableCounts(t.database.db), counts, 'nothing deleted, nothing half-deleted');
    } finally {
      if (!released) await lock.release();
      await job.close();
    }
    const next = await runRetention({ database: t.database, clock }, options({ batchSize: 1000 }));
    assert.equal(next.aborted, false);
    assert.deepEqual(next.deleted, EXPECTED_DELETED, 'the next pass does what the stopped one left');
  });

  test('the stats sealer stops in its backlog, keeping what it sealed, and the next seal goes on', async () => {
    const clock = new TestClock();
    // Rows over 40 days old: some 170 seal transactions to the present.
    await seedRetention(t.database.db, clock.now());
    const job = await jobDatabase(t);
    const lock = await holdSealLock(t);
    let released = false;
    try {
      const stop = startStatsSealer(job.database, silentLogger);
      await lock.blocked();
      const stopped = stop();
      if (onPostgres(t)) {
        await settles(stopped, 'the sealer’s stop');
      } else {
        await lock.release();
        released = true;
        await stopped;
      }
    } finally {
      if (!released) await lock.release();
      await job.close();
    }
    const [row] = await queryRows<{ behind: boolean }>(
      t.database.db,
      sql`select coalesce(sealed_to < now() - interval '1 day', true) as behind from stats_seal`,
    );
    assert.equal(row!.behind, true, `stopped in the backlog (sealed to ${await sealedTo(t)})`);
    await sealStats(t.database.db);
    const [done] = await queryRows<{ current: boolean }>(
      t.database.db,
      sql`select sealed_to > now() - interval '3 hours' as current from stats_seal`,
    );
    assert.equal(done!.current, true, 'the next seal goes on from there to the present');
  });
});
