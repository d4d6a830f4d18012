import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';
import { runBenchScript } from './run-bench-script.ts';

// The generator's history is what the notification timeline shows: each delivery's rows must be a
// chain the service could have written (creation first, each step leaving the state the one before
// reached, ending in the delivery's status).
test('bench:seed --history writes each delivery a chained history, and --append adds to the volume', {
  skip: ENGINE !== 'postgres',
}, async () => {
  const t = await createTestDatabase();
  const client = new pg.Client({ connectionString: t.url });
  await client.connect();
  try {
    const env = { ...process.env, DATABASE_URL: t.url };
    const seed = (args: string[]) => runBenchScript(['bench/seed-volume.ts', '--users', '30', ...args], env);
    const first = await seed(['--notifications', '300', '--history']);
    assert.equal(first.code, 0, first.stderr);

    const refused = await seed(['--notifications', '10']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /already has 30 users/);

    const appended = await seed(['--notifications', '200', '--history', '--append']);
    assert.equal(appended.code, 0, appended.stderr);
    const { rows: counts } = await client.query<{ users: number; notifications: number; bare: number }>(
      `select (select count(*) from users)::int as users, (select count(*) from notifications)::int as notifications,
              (select count(*) from deliveries d where not exists (
                 select 1 from delivery_status_history h where h.delivery_id = d.id))::int as bare`,
    );
    // The append picked its users among the first seed's: no new ones.
    assert.deepEqual(counts[0], { users: 30, notifications: 500, bare: 0 });

    const { rows: broken } = await client.query(
      `with h as (
         select h.*, d.status as final, d.channel, d.attempts,
                lag(h.to_status) over (partition by h.delivery_id order by h.id) as before,
                row_number() over (partition by h.delivery_id order by h.id desc) as from_end,
                row_number() over (partition by h.delivery_id order by h.id) as n
         from delivery_status_history h join deliveries d on d.id = h.delivery_id)
       select delivery_id, channel, final, n, from_status, to_status, before from h
       where (n = 1 and from_status is not null)
          or (n > 1 and from_status is distinct from before)
          or (from_end = 1 and to_status <> final)
       limit 5`,
    );
    assert.deepEqual(broken, []);
    // Every path the generator writes is there: a send retried twice, an SMS's two callbacks.
    const { rows: shapes } = await client.query<{ retried: number; callbacks: number }>(
      `select (select count(*) from deliveries d where d.status = 'failed' and d.attempts = 3
                 and (select count(*) from delivery_status_history h where h.delivery_id = d.id) = 7)::int as retried,
              (select count(*) from deliveries d where d.channel = 'sms' and d.status = 'delivered'
                 and (select count(*) from delivery_status_history h
                      where h.delivery_id = d.id and h.detail = 'status callback') = 2)::int as callbacks`,
    );
    assert.ok((shapes[0]?.retried ?? 0) > 0 && (shapes[0]?.callbacks ?? 0) > 0, JSON.stringify(shapes[0]));
  } finally {
    await client.end();
    await t.close();
  }
});
