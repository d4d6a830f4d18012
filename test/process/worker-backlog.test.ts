import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { queryRows } from '../../src/db/database.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';
import { seedQueuedDeliveries } from '../helpers/workers.ts';

/**
 * The worker process as `worker`/`serve` builds it (startApp, the real config), on a backlog. The
 * concurrency setting is the number of deliveries a worker holds at once: a worker that claims more
 * than it can write back lets its own leases run out, and then sends the same message again.
 */
describe(`a worker working off a backlog (${ENGINE})`, () => {
  test('sends each of 1,000 backlogged deliveries exactly once, with a short lease and low concurrency', async (ctx) => {
    const total = 1_000;
    const concurrency = 2;
    const t = await createTestDatabase();
    let app: RunningApp | undefined;
    try {
      await seedQueuedDeliveries(t.database, total);
      app = await startApp({
        config: testConfig({
          WORKER_ID: 'backlog',
          WORKER_CONCURRENCY_IN_APP: String(concurrency),
          WORKER_BATCH_SIZE: String(concurrency),
          WORKER_LEASE_MS: '1500',
          WORKER_POLL_MS: '100',
        }),
        api: false,
        worker: true,
        database: t.database,
      });
      let mostLeases = 0;
      await waitFor(
        async () => {
          const [row] = await queryRows<{ leased: number; open: number }>(
            t.database.db,
            sql`select count(*) filter (where status = 'sending')::int as leased,
                       count(*) filter (where status in ('queued', 'sending'))::int as open
                from deliveries`,
          );
          mostLeases = Math.max(mostLeases, row!.leased);
          return row!.open === 0;
        },
        45_000,
        'backlog worked off',
      );
      await app.close();
      app = undefined;

      const [r] = await queryRows<{ delivered: number; failed: number; multi: number; reaped: number }>(
        t.database.db,
        sql`select (select count(*)::int from deliveries where status = 'delivered') as delivered,
                   (select count(*)::int from deliveries where status = 'failed') as failed,
                   (select count(*)::int from deliveries where attempts > 1) as multi,
                   (select count(*)::int from delivery_status_history
                     where from_status = 'sending' and to_status in ('queued', 'failed')) as reaped`,
      );
      ctx.diagnostic(`most deliveries in sending at one sample: ${mostLeases} (concurrency ${concurrency})`);
      // Sent once each: no delivery claimed twice, none of the worker's own leases ran out.
      assert.deepEqual(r, { delivered: total, failed: 0, multi: 0, reaped: 0 });
    } finally {
      await app?.close();
      await t.close();
    }
  });
});
