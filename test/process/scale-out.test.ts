import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/database.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';
import { seedQueuedDeliveries } from '../helpers/workers.ts';
import { type CliProcess, runCli } from './cli.ts';

// Several worker processes on one database is the PostgreSQL deployment; PGlite allows one process.
const skip = ENGINE === 'pglite';
const TOTAL = 10_000;
const WORKERS = ['w1', 'w2', 'w3', 'w4'];

describe('scale-out: worker processes on one PostgreSQL database', { skip }, () => {
  test('four worker processes share 10,000 deliveries, each processed exactly once, and stop cleanly', async (ctx) => {
    const t = await createTestDatabase();
    const procs: CliProcess[] = [];
    try {
      const db = t.database.db;
      const workers = WORKERS.map((id) => {
        const p = runCli(['worker'], { DATABASE_URL: t.url!, WORKER_ID: id, WORKER_POLL_MS: '200' });
        procs.push(p);
        return p;
      });
      // All four are running before there is work, so none gets a head start.
      await Promise.all(
        workers.map((p, i) => p.waitForOutput(new RegExp(`Delivery worker ${WORKERS[i]} running`))),
      );
      await seedQueuedDeliveries(t.database, TOTAL);

      // The history does not record who claimed a row, so watch the live leases while the run goes on.
      const owners = new Set<string>();
      await waitFor(
        async () => {
          const [row] = await queryRows<{ owners: string[] | null; left: number }>(
            db,
            sql`select array_agg(distinct lease_owner) filter (where status = 'sending') as owners,
                       count(*) filter (where status <> 'delivered')::int as left
                from deliveries`,
          );
          for (const o of row?.owners ?? []) owners.add(o);
          return row?.left === 0;
        },
        50_000,
        `all ${TOTAL} deliveries delivered`,
      );

      const [claims] = await queryRows<{ deliveries: number; once: number; claims: number; reaped: number }>(
        db,
        sql`select count(distinct d.id)::int as deliveries,
                   count(*) filter (where h.n = 1)::int as once,
                   coalesce(sum(h.n), 0)::int as claims,
                   (select count(*)::int from delivery_status_history
                     where from_status = 'sending' and to_status = 'queued') as reaped
            from deliveries d
            left join (select delivery_id, count(*)::int as n from delivery_status_history
                        where from_status = 'queued' and to_status = 'sending' group by delivery_id) h
              on h.delivery_id = d.id`,
      );
      assert.deepEqual(claims, { deliveries: TOTAL, once: TOTAL, claims: TOTAL, reaped: 0 });
      const [attempts] = await queryRows<{ n: number }>(
        db,
        sql`select count(*)::int as n from deliveries where attempts <> 1 or lease_owner is not null`,
      );
      assert.equal(attempts!.n, 0, 'every delivery took one attempt and holds no lease');
      ctx.diagnostic(`lease owners seen while running: ${[...owners].sort().join(', ')}`);
      assert.ok(owners.size > 1, `the work was shared: leases seen for ${[...owners].join(', ')}`);
      for (const o of owners) assert.ok(WORKERS.includes(o), `unexpected lease owner ${o}`);

      for (const p of workers) p.child.kill('SIGTERM');
      const codes = await Promise.all(workers.map((p) => p.exited()));
      assert.deepEqual(codes, [0, 0, 0, 0], workers.map((p) => p.stderr()).join('\n'));
      for (const p of workers) assert.match(p.stdout(), /Stopped cleanly/);
    } finally {
      for (const p of procs) p.kill();
      await t.close();
    }
  });
});
