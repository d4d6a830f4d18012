/**
 * What the webhook triggers (migration 0025) cost the hot path: N notifications, each written the
 * way the service writes them (notification, queued delivery, then sending → sent → delivered as
 * separate statements), timed with the triggers dropped (no webhook feature at all), with them
 * and no endpoint (the guard's one probe), and with one enabled endpoint (payloads built, rows
 * written). `npx node bench/webhook-overhead.ts [N]`; DATABASE_URL set: PostgreSQL, else PGlite.
 */
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { type Database, openDatabase, wrapPglite } from '../src/db/database.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';

const n = Number(process.argv[2] ?? 300);
const url = process.env['DATABASE_URL'];
const logger = createLogger('silent');

const TRIGGERS = [
  ['deliveries', 'deliveries_webhook_update'],
  ['deliveries', 'deliveries_webhook_insert'],
  ['notifications', 'notifications_webhook_insert'],
  ['notifications', 'notifications_webhook_read'],
];

async function fresh(): Promise<Database> {
  const database = url
    ? await openDatabase({ databaseUrl: url, dataDir: 'unused', logger })
    : wrapPglite(new PGlite());
  await runMigrations(database);
  await database.db.execute(sql`truncate webhook_endpoints, notifications, users cascade`);
  await database.db.execute(sql`insert into users (external_id) values ('bench')`);
  return database;
}

async function run(database: Database, tag: string): Promise<number> {
  const { db } = database;
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const id = `ntf_${tag}_${i}`;
    await db.execute(sql`insert into notifications (notification_id, user_id, type, category, priority, title, message)
      values (${id}, (select id from users where external_id = 'bench'), 'order_confirmed', 'order_updates', 'critical', 't', 'm')`);
    await db.execute(sql`insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at)
      select id, 'in_app', 'queued', 3, now() from notifications where notification_id = ${id}`);
    for (const status of ['sending', 'sent', 'delivered'])
      await db.execute(sql`update deliveries set status = ${status}, updated_at = now()
        where notification_id = (select id from notifications where notification_id = ${id})`);
  }
  return performance.now() - started;
}

const results: Record<string, number[]> = { 'no triggers': [], 'no endpoint': [], 'one endpoint': [] };
const database = await fresh();
const setTriggers = async (on: boolean) => {
  for (const [table, trigger] of TRIGGERS)
    await database.db.execute(
      sql.raw(`alter table ${table} ${on ? 'enable' : 'disable'} trigger ${trigger}`),
    );
};
// One database, the modes interleaved round by round, so drift (other load, cache growth) hits all alike.
await run(database, 'warm');
for (let round = 0; round < 5; round++) {
  for (const mode of Object.keys(results)) {
    await setTriggers(mode !== 'no triggers');
    await database.db.execute(sql`delete from webhook_endpoints`);
    if (mode === 'one endpoint')
      await database.db.execute(
        sql`insert into webhook_endpoints (url, secret) values ('http://127.0.0.1:9', 'whsec_x')`,
      );
    results[mode]!.push(await run(database, `r${round}_${mode.replaceAll(' ', '_')}`));
  }
}
await setTriggers(true);
await database.db.execute(sql`truncate webhook_endpoints, notifications, users cascade`);
await database.close();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `${url ? 'postgres' : 'pglite'}, ${n} notifications × 5 statements, median of 5 interleaved rounds`,
);
for (const [mode, xs] of Object.entries(results))
  console.log(
    `${mode.padEnd(13)} ${median(xs).toFixed(0).padStart(6)} ms  ${((median(xs) * 1000) / n).toFixed(0)} µs/notification`,
  );
