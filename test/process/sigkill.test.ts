import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type Database, openDatabase, queryRows } from '../../src/db/database.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, silentLogger } from '../helpers/test-db.ts';
import { seedQueuedDeliveries } from '../helpers/workers.ts';
import { type CliProcess, listeningUrl, runCli, runToExit, tempDataDir } from './cli.ts';

/**
 * kill -9 is the crash nothing can clean up after: the killed worker's leases must run out and its
 * deliveries be sent again by another process, flagged outcome-unknown, and nothing else resent.
 */
const LEASE_MS = '1500';

async function idsWhere(db: Database, where: ReturnType<typeof sql>): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    db.db,
    sql`select id::text as id from deliveries where ${where}`,
  );
  return rows.map((r) => r.id).sort();
}

/** The deliveries the killed worker left in `sending` (its leases), read once it is dead. */
/** A process's state letter from /proc (`T`: stopped by a signal); the name may hold spaces, so after its `)`. */
const processState = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];

const orphansOf = (db: Database, owner: string) =>
  idsWhere(db, sql`status = 'sending' and lease_owner = ${owner}`);

/** After the survivor finished: everything delivered, and only the orphans were sent twice. */
async function assertRecovered(db: Database, total: number, orphans: string[]) {
  const [states] = await queryRows<{ delivered: number; all: number }>(
    db.db,
    sql`select count(*) filter (where status = 'delivered')::int as delivered, count(*)::int as all
        from deliveries`,
  );
  assert.deepEqual(states, { delivered: total, all: total });

  const claims = await queryRows<{ id: string; n: number }>(
    db.db,
    sql`select delivery_id::text as id, count(*)::int as n from delivery_status_history
        where from_status = 'queued' and to_status = 'sending' group by delivery_id`,
  );
  assert.equal(claims.length, total, 'every delivery was claimed');
  const most = Math.max(...claims.map((c) => c.n));
  assert.ok(most <= 2, `a delivery was claimed ${most} times`);
  const twice = claims
    .filter((c) => c.n === 2)
    .map((c) => c.id)
    .sort();
  assert.deepEqual(twice, orphans, 'exactly the deliveries leased by the dead worker were claimed again');

  assert.deepEqual(
    await idsWhere(db, sql`details ->> 'outcome_unknown' = 'true'`),
    orphans,
    'exactly the reclaimed deliveries are flagged outcome_unknown',
  );
  assert.deepEqual(await idsWhere(db, sql`attempts = 2`), orphans);
  const [reaped] = await queryRows<{ n: number }>(
    db.db,
    sql`select count(*)::int as n from delivery_status_history
        where from_status = 'sending' and to_status = 'queued' and detail like 'lease expired%'`,
  );
  assert.equal(reaped!.n, orphans.length, 'one lease-expiry history row per orphan');
}

describe('a worker process killed with SIGKILL while holding leases', () => {
  test('on PostgreSQL another worker process reclaims its leases and finishes the work', {
    skip: ENGINE !== 'postgres',
  }, async () => {
    const total = 20_000;
    const t = await createTestDatabase();
    const procs: CliProcess[] = [];
    try {
      await seedQueuedDeliveries(t.database, total);
      const a = runCli(['worker'], {
        DATABASE_URL: t.url!,
        WORKER_ID: 'A',
        WORKER_LEASE_MS: LEASE_MS,
        WORKER_CONCURRENCY_IN_APP: '10',
        WORKER_BATCH_SIZE: '10',
      });
      procs.push(a);
      const db = t.database.db;
      const count = async (where: ReturnType<typeof sql>) =>
        (
          await queryRows<{ n: number }>(db, sql`select count(*)::int as n from deliveries where ${where}`)
        )[0]!.n;
      // A statement A sent before it was stopped still runs on the server and may complete its
      // leases, so leases only count once none of A's statements is active.
      const othersActive = async () =>
        (
          await queryRows<{ n: number }>(
            db,
            sql`select count(*)::int as n from pg_stat_activity
                where datname = current_database() and state = 'active' and pid <> pg_backend_pid()`,
          )
        )[0]!.n;
      // Mid-run: some work done, and A frozen at a moment it holds leases (SIGSTOP keeps the state still).
      await waitFor(async () => (await count(sql`status = 'delivered'`)) >= 500, 30_000, 'A under way');
      await waitFor(
        async () => {
          a.child.kill('SIGSTOP');
          // The signal is asynchronous: until A is stopped it may still send a statement that
          // completes its leases after they were counted.
          await waitFor(async () => processState(a.child.pid!) === 'T', 5_000, 'A stopped');
          await waitFor(async () => (await othersActive()) === 0, 5_000, "A's statements finished");
          if ((await count(sql`status = 'sending' and lease_owner = 'A'`)) > 0) return true;
          a.child.kill('SIGCONT');
          return false;
        },
        10_000,
        'A holding leases',
      );
      a.child.kill('SIGKILL');
      assert.equal(await a.exited(), 'SIGKILL');
      // A's connections are gone once nothing but this test's pool is left on the database.
      await waitFor(async () => (await othersActive()) === 0, 10_000, "A's connections closed");
      const orphans = await orphansOf(t.database, 'A');
      assert.ok(orphans.length > 0 && orphans.length <= 10, `orphans: ${orphans.length}`);
      assert.ok((await count(sql`status = 'queued'`)) > 0, 'A was killed mid-run');

      const b = runCli(['worker'], { DATABASE_URL: t.url!, WORKER_ID: 'B', WORKER_POLL_MS: '100' });
      procs.push(b);
      await waitFor(async () => (await count(sql`status <> 'delivered'`)) === 0, 50_000, 'all delivered');
      await assertRecovered(t.database, total, orphans);
      assert.equal(await count(sql`lease_owner is not null`), 0);

      b.child.kill('SIGTERM');
      assert.equal(await b.exited(), 0, b.stderr());
    } finally {
      for (const p of procs) p.kill();
      await t.close();
    }
  });

  test('on PGlite a new serve takes over the stale data-directory lock and finishes the work', {
    skip: ENGINE !== 'pglite',
  }, async (ctx) => {
    const total = 300;
    const key = 'lcn_test_admin_key';
    const data = tempDataDir();
    const procs: CliProcess[] = [];
    const env = { DATA_DIR: data.dir, PORT: '0', ADMIN_API_KEY: key };
    const open = () => openDatabase({ dataDir: data.dir, logger: silentLogger });
    try {
      const migrated = await runToExit(['migrate'], { DATA_DIR: data.dir });
      assert.equal(migrated.code, 0, migrated.stderr);
      {
        const db = await open();
        try {
          await seedQueuedDeliveries(db, total);
        } finally {
          await db.close();
        }
      }
      const statusOf = async (url: string, id: string) => {
        const res = await fetch(`${url}/api/v1/notifications/${id}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        assert.equal(res.status, 200);
        const view = (await res.json()) as { deliveries: Array<{ status: string }> };
        return view.deliveries[0]!.status;
      };

      const a = runCli(['serve'], { ...env, WORKER_ID: 'A', WORKER_LEASE_MS: LEASE_MS });
      procs.push(a);
      await listeningUrl(a);
      // Killed while working the backlog: the worker starts claiming before the API listens. (Not
      // later: PGlite runs one query at a time and the backlog keeps it busy, so even /readyz waits.)
      a.child.kill('SIGKILL');
      assert.equal(await a.exited(), 'SIGKILL');

      // The dead process's lock is stale: this test may open the directory to look, then hand it on.
      let orphans: string[];
      let remaining: string[];
      {
        const db = await open();
        try {
          orphans = await orphansOf(db, 'A');
          remaining = (
            await queryRows<{ id: string }>(
              db.db,
              sql`select n.notification_id as id from deliveries d
                  join notifications n on n.id = d.notification_id where d.status <> 'delivered'`,
            )
          ).map((r) => r.id);
        } finally {
          await db.close();
        }
      }
      ctx.diagnostic(`A left ${orphans.length} deliveries leased, ${remaining.length} not delivered`);
      assert.ok(remaining.length > orphans.length, 'A was killed mid-run');

      const b = runCli(['serve'], { ...env, WORKER_ID: 'B', WORKER_POLL_MS: '100' });
      procs.push(b);
      const urlB = await listeningUrl(b);
      await waitFor(
        async () => {
          const statuses = await Promise.all(remaining.slice(0, 50).map((id) => statusOf(urlB, id)));
          remaining = remaining.filter((_, i) => i >= 50 || statuses[i] !== 'delivered');
          return remaining.length === 0;
        },
        40_000,
        'all delivered',
      );
      b.child.kill('SIGTERM');
      assert.equal(await b.exited(), 0, b.stderr());

      const db = await open();
      try {
        await assertRecovered(db, total, orphans);
      } finally {
        await db.close();
      }
    } finally {
      for (const p of procs) p.kill();
      data.remove();
    }
  });
});
