import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { TestClock } from '../../src/clock.ts';
import { type Database, openDatabase, queryRows } from '../../src/db/database.ts';
import { flushDigests } from '../../src/digest/digest-flusher.ts';
import { createTestDatabase, ENGINE, silentLogger } from '../helpers/test-db.ts';

const USERS = 200;
const HELD_EACH = 5;
const WINDOW_MS = 3_600_000;

// Several nodes only exist on PostgreSQL (the embedded database is one process).
describe('digests on two worker nodes', { skip: ENGINE !== 'postgres' }, () => {
  test('two nodes flushing at once make one digest per user, each held email in exactly one', async () => {
    const t = await createTestDatabase();
    const other = await openDatabase({ databaseUrl: t.url, dataDir: 'unused', logger: silentLogger });
    try {
      const clock = new TestClock();
      const heldSince = new Date(clock.now() - 2 * WINDOW_MS).toISOString();
      // Every user has HELD_EACH digest emails held (queued, no attempt time) for two windows.
      await t.database.db.execute(sql`
        with u as (
          insert into users (external_id, email, first_name)
          select 'digest-nodes-' || g, 'digest-nodes-' || g || '@example.com', 'Asha'
          from generate_series(1, ${USERS}) g returning id),
        n as (
          insert into notifications (notification_id, user_id, type, category, priority, title, message, created_at)
          select 'ntf_digest_nodes_' || u.id || '_' || k, u.id, 'promo_offer', 'promotions', 'digest', 't', 'm',
                 ${heldSince}::timestamptz
          from u, generate_series(1, ${HELD_EACH}) k returning id)
        insert into deliveries (notification_id, channel, status, attempts, max_attempts)
        select id, 'email', 'queued', 0, 4 from n`);

      const flushBoth = (a: Database, b: Database) =>
        Promise.all([
          flushDigests(a.db, { windowMs: WINDOW_MS, now: new Date(clock.now()) }),
          flushDigests(b.db, { windowMs: WINDOW_MS, now: new Date(clock.now()) }),
        ]);
      const [first, second] = await flushBoth(t.database, other);
      // A flush takes at most 500 users a round: the rest are left for the next one.
      let started = first + second;
      for (;;) {
        const [a, b] = await flushBoth(other, t.database);
        if (a + b === 0) break;
        started += a + b;
      }
      assert.equal(started, USERS, 'one digest started per user across both nodes');

      const perUser = await queryRows<{ carriers: number; digested: number; held: number }>(
        t.database.db,
        sql`select count(*) filter (where d.status = 'queued' and d.next_attempt_at is not null)::int as carriers,
                   count(*) filter (where d.status = 'skipped' and d.skip_reason = 'digested')::int as digested,
                   count(*) filter (where d.status = 'queued' and d.next_attempt_at is null)::int as held
            from deliveries d join notifications n on n.id = d.notification_id group by n.user_id`,
      );
      assert.equal(perUser.length, USERS);
      for (const u of perUser) assert.deepEqual(u, { carriers: 1, digested: HELD_EACH - 1, held: 0 });
      const [history] = await queryRows<{ rows: number; deliveries: number }>(
        t.database.db,
        sql`select count(*)::int as rows, count(distinct delivery_id)::int as deliveries from delivery_status_history`,
      );
      assert.deepEqual(history, { rows: USERS * HELD_EACH, deliveries: USERS * HELD_EACH }, 'one line each');
    } finally {
      await other.close();
      await t.close();
    }
  });
});
