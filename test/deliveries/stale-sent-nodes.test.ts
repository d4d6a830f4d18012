import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { TestClock } from '../../src/clock.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { takeStaleSent } from '../../src/deliveries/take-stale-sent.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, silentLogger } from '../helpers/test-db.ts';

const STALE_MS = 60_000;
const COUNT = 40;

/** One node's sweep round: batches of 10 until nothing is left for it; the ids it took. */
async function round(database: Database, clock: TestClock): Promise<string[]> {
  const taken: string[] = [];
  for (;;) {
    const batch = await takeStaleSent(database.db, 'sms', 'twilio', STALE_MS, 10, clock.sqlNow());
    if (batch.length === 0) return taken;
    taken.push(...batch.map((d) => d.id));
  }
}

// Several nodes only exist on PostgreSQL (the embedded database is one process).
describe('the SMS status sweep on two worker nodes', { skip: ENGINE !== 'postgres' }, () => {
  test('two nodes sweeping at once take each quiet SMS once, and take it again only a period later', async () => {
    const t = await createTestDatabase();
    const other = await openDatabase({ databaseUrl: t.url, dataDir: 'unused', logger: silentLogger });
    try {
      const clock = new TestClock();
      const user = await insertUser(t.database.db, 'sweep-nodes', { phone: '+919800000009' });
      // Sent an hour ago by the test's clock, no report since: every one is due for a fetch.
      await t.database.db.execute(sql`
        with n as (
          insert into notifications (notification_id, user_id, type, category, priority, title, message)
          select 'ntf_sweep_nodes_' || g, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm'
          from generate_series(1, ${COUNT}) g returning id)
        insert into deliveries (notification_id, channel, status, attempts, max_attempts, provider_message_id, provider_status, updated_at)
        select id, 'sms', 'sent', 1, 4, 'SM' || lpad(id::text, 32, '0'), 'queued',
               ${new Date(clock.now() - 3_600_000).toISOString()}::timestamptz
        from n`);
      const both = async () => {
        const [a, b] = await Promise.all([round(t.database, clock), round(other, clock)]);
        return { a, b, all: [...a, ...b] };
      };

      const first = await both();
      assert.equal(first.all.length, COUNT, 'every quiet SMS taken');
      assert.equal(new Set(first.all).size, COUNT, 'none by both nodes');
      const again = await both();
      assert.deepEqual(again.all, [], 'within the period, neither node takes one again');

      clock.advance(STALE_MS + 1_000);
      const next = await both();
      assert.equal(next.all.length, COUNT, 'a period later, each is due again');
      assert.equal(new Set(next.all).size, COUNT, 'and again taken by one node only');
    } finally {
      await other.close();
      await t.close();
    }
  });
});
