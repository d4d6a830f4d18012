import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { TestClock } from '../../src/clock.ts';
import { queryRows } from '../../src/db/database.ts';
import { runRetention } from '../../src/retention/run-retention.ts';
import { createTestDatabase } from '../helpers/test-db.ts';
import { DAY_MS, options } from './fixture.ts';

test('old webhook messages delivered or given up go with their attempts; one still to send stays', async () => {
  const t = await createTestDatabase();
  try {
    const db = t.database.db;
    const clock = new TestClock();
    const ago = (days: number) => new Date(clock.now() - days * DAY_MS).toISOString();
    const [endpoint] = await queryRows<{ id: number }>(
      db,
      sql`insert into webhook_endpoints (url, secret) values ('https://backend.example/hooks', 'whsec_dGVzdA==') returning id`,
    );
    // [message, state, days ago]: old finished ones (delivered, dead), old unfinished (pending,
    // failed with a retry due), a recent delivered one.
    const rows: Array<[string, string, number]> = [
      ['msg_old_delivered', 'delivered', 40],
      ['msg_old_dead', 'dead', 39],
      ['msg_old_pending', 'pending', 41],
      ['msg_old_failed', 'failed', 38],
      ['msg_old_delivered_2', 'delivered', 37],
      ['msg_recent', 'delivered', 5],
    ];
    for (const [message, state, days] of rows) {
      const [o] = await queryRows<{ id: number }>(
        db,
        sql`insert into webhook_outbox (message_id, endpoint_id, event_type, payload, created_at, state)
            values (${message}, ${endpoint!.id}, 'delivery.sent', '{}'::jsonb, ${ago(days)}::timestamptz, ${state})
            returning id`,
      );
      await db.execute(sql`insert into webhook_attempts (outbox_id, endpoint_id, attempted_at, status_code, latency_ms)
                           values (${o!.id}, ${endpoint!.id}, ${ago(days)}::timestamptz, 500, 12),
                                  (${o!.id}, ${endpoint!.id}, ${ago(days)}::timestamptz, 200, 9)`);
    }
    const dry = await runRetention({ database: t.database, clock }, options({ dryRun: true }));
    const real = await runRetention({ database: t.database, clock }, options());
    // Three finished old messages, two attempts each; counted the same by the dry run.
    assert.equal(real.deleted['webhook_outbox'], 3);
    assert.equal(real.deleted['webhook_attempts'], 6);
    assert.equal(dry.deleted['webhook_outbox'], 3);
    assert.equal(dry.deleted['webhook_attempts'], 6);
    const left = await queryRows<{ message_id: string; attempts: number }>(
      db,
      sql`select o.message_id, (select count(*)::int from webhook_attempts a where a.outbox_id = o.id) as attempts
          from webhook_outbox o order by o.message_id`,
    );
    assert.deepEqual(left, [
      { message_id: 'msg_old_failed', attempts: 2 },
      { message_id: 'msg_old_pending', attempts: 2 },
      { message_id: 'msg_recent', attempts: 2 },
    ]);
  } finally {
    await t.close();
  }
});
