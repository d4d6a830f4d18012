/**
 * Row writes per notification on PostgreSQL: what the whole pipeline (create, claim, outcome, the
 * sandbox's three status callbacks per SMS) inserts, updates and deletes in each table, counted by
 * PostgreSQL itself (`pg_stat_user_tables`). Unlike a throughput figure it does not move with the
 * machine's load, so it shows what a change to the write path did even on a noisy shared machine.
 * Usage: npm run bench:rows -- [--notifications N] [--postgres-url URL]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { startApp } from '../src/app.ts';
import { getNotificationType } from '../src/catalog/catalog.ts';
import { loadConfig } from '../src/config.ts';
import { type Database, queryRows } from '../src/db/database.ts';
import { createLogger } from '../src/logger.ts';
import { createBenchDatabase } from './environment.ts';
import { Progress } from './progress.ts';

const { values } = parseArgs({
  options: { notifications: { type: 'string', default: '500' }, 'postgres-url': { type: 'string' } },
});
const count = Number(values.notifications);
if (!Number.isInteger(count) || count < 1) throw new Error('--notifications must be a positive integer');
const serverUrl =
  values['postgres-url'] ?? process.env['BENCH_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** Each step's time budget: the bar's length, and the wait for the callbacks before giving up. */
const BUDGET_S = 300;

interface TableWrites {
  table: string;
  inserted: number;
  updated: number;
  hot: number;
  deleted: number;
}

/** Counters as of the last flush; each backend flushes its counters when it exits. */
const tableWrites = (database: Database) =>
  queryRows<TableWrites>(
    database.db,
    sql`select relname as table, n_tup_ins::int as inserted, n_tup_upd::int as updated,
               n_tup_hot_upd::int as hot, n_tup_del::int as deleted
        from pg_stat_user_tables order by relname`,
  );

const progress = new Progress();
const bench = await createBenchDatabase('postgres', serverUrl, { users: count, channels: ['sms', 'in_app'] });
try {
  const reader = await bench.open();
  const before = await tableWrites(reader);
  const adminKey = `lcn_rows_${randomBytes(16).toString('hex')}`;
  const app = await startApp({
    config: loadConfig({
      DATABASE_URL: bench.target,
      PORT: '0',
      ADMIN_API_KEY: adminKey,
      SMS_BACKEND: 'sandbox',
      // Twilio alone, as the figures before routing were measured (comparable run to run).
      SMS_PROVIDERS: 'twilio',
      SANDBOX_STEP_MS: '20',
      RATE_LIMIT_PER_MINUTE: '1000000',
      LOG_LEVEL: 'warn',
    }),
    api: true,
    worker: true,
    logger: createLogger('warn'),
  });
  const context = getNotificationType('order_confirmed')!.sampleContext;
  let sent = 0;
  progress.phase(`${count} notifications`, BUDGET_S);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (sent < count) {
        const user = `bench-user-${++sent}`;
        const res = await fetch(`${app.url}/api/v1/notifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: user, type: 'order_confirmed', context }),
        });
        if (res.status !== 201) throw new Error(`POST for ${user}: ${res.status} ${await res.text()}`);
        progress.update(`${sent} accepted`);
      }
    }),
  );
  // Done when every SMS has its last callback (delivered) stored.
  progress.phase('callbacks', BUDGET_S);
  const deadline = Date.now() + BUDGET_S * 1000;
  for (;;) {
    const [row] = await queryRows<{ n: number }>(
      reader.db,
      sql`select count(*)::int as n from deliveries where channel = 'sms' and provider_status = 'delivered'`,
    );
    progress.update(`${row!.n} of ${count} SMS delivered`);
    if (row!.n >= count) break;
    if (Date.now() > deadline)
      throw new Error(`only ${row!.n} of ${count} SMS delivered after ${BUDGET_S} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 1000));
  await app.close();
  // The service's backends have exited, so their counters are in; the reader's own are reads.
  await new Promise((r) => setTimeout(r, 1000));
  const after = await tableWrites(reader);
  await reader.close();
  progress.done();

  const perN = (n: number) => (n / count).toFixed(2);
  const rows = after.flatMap((a) => {
    const b = before.find((x) => x.table === a.table);
    const d = {
      inserted: a.inserted - (b?.inserted ?? 0),
      updated: a.updated - (b?.updated ?? 0),
      hot: a.hot - (b?.hot ?? 0),
      deleted: a.deleted - (b?.deleted ?? 0),
    };
    return d.inserted + d.updated + d.deleted > 0 ? [{ table: a.table, ...d }] : [];
  });
  const total = rows.reduce((s, r) => s + r.inserted + r.updated + r.deleted, 0);
  console.log(`\nRow writes per notification (sms + in_app, ${count} notifications, PostgreSQL)\n`);
  console.log('| table | inserted | updated (of which HOT) | deleted |');
  console.log('| --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.table} | ${perN(r.inserted)} | ${perN(r.updated)} (${perN(r.hot)}) | ${perN(r.deleted)} |`,
    );
  }
  console.log(`| **all** | | | **${perN(total)}** |`);
} finally {
  await bench.drop();
}
