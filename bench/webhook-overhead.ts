/**
 * What the webhook triggers (migration 0025) cost the hot path. N notifications go through the
 * writes the service makes — notifications inserted, their deliveries queued, then sending → sent →
 * delivered — one statement per step over all N rows, each timed inside the database by EXPLAIN
 * ANALYZE (client round trips, and other load on the machine, left out). Three modes, interleaved
 * round by round, median of 5: the triggers disabled (no webhook feature at all), the triggers and
 * no endpoint (the guard alone), one enabled endpoint (payloads built, outbox rows written).
 * `npx node bench/webhook-overhead.ts [N]`; DATABASE_URL set: PostgreSQL, else PGlite.
 */
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { type Database, openDatabase, queryRows, wrapPglite } from '../src/db/database.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';

const n = Number(process.argv[2] ?? 300);
const url = process.env['DATABASE_URL'];
const TRIGGERS = [
  ['deliveries', 'deliveries_webhook_update'],
  ['deliveries', 'deliveries_webhook_insert'],
  ['notifications', 'notifications_webhook_insert'],
];
const STEPS: Array<[string, string]> = [
  [
    'insert notifications',
    `insert into notifications (notification_id, user_id, type, category, priority, title, message)
     select 'ntf_' || g, (select id from users), 'order_confirmed', 'order_updates', 'critical', 't', 'm'
     from generate_series(1, ${n}) g`,
  ],
  [
    'queue deliveries',
    `insert into deliveries (notification_id, channel, status, max_attempts, next_attempt_at)
     select id, 'in_app', 'queued', 3, now() from notifications`,
  ],
  ['→ sending', `update deliveries set status = 'sending'`],
  ['→ sent', `update deliveries set status = 'sent', sent_at = now()`],
  ['→ delivered', `update deliveries set status = 'delivered', delivered_at = now()`],
];
const MODES = ['no triggers', 'no endpoint', 'one endpoint'] as const;

const database: Database = url
  ? await openDatabase({ databaseUrl: url, dataDir: 'unused', logger: createLogger('silent') })
  : wrapPglite(new PGlite());
await runMigrations(database);
const exec = (q: string) => database.db.execute(sql.raw(q));

async function round(mode: (typeof MODES)[number]): Promise<number[]> {
  await exec('truncate webhook_endpoints, notifications, users cascade');
  await exec(`insert into users (external_id) values ('bench')`);
  for (const [table, trigger] of TRIGGERS)
    await exec(`alter table ${table} ${mode === 'no triggers' ? 'disable' : 'enable'} trigger ${trigger}`);
  if (mode === 'one endpoint')
    await exec(`insert into webhook_endpoints (url, secret) values ('http://x', 'whsec_x')`);
  const times: number[] = [];
  for (const [, statement] of STEPS) {
    const rows = await queryRows<Record<string, string>>(
      database.db,
      sql.raw(`explain (analyze, timing off, summary on, format json) ${statement}`),
    );
    const plan = Object.values(rows[0]!)[0] as unknown as Array<{ 'Execution Time': number }>;
    times.push(plan[0]!['Execution Time']);
  }
  return times;
}

const results = new Map(MODES.map((m) => [m, [] as number[][]]));
await round('one endpoint'); // warm: plans cached, functions compiled
for (let r = 0; r < 5; r++) for (const m of MODES) results.get(m)!.push(await round(m));
await exec('truncate webhook_endpoints, notifications, users cascade');
for (const [table, trigger] of TRIGGERS) await exec(`alter table ${table} enable trigger ${trigger}`);
await database.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${url ? 'postgres' : 'pglite'}: ${n} notifications, database time per step (ms), median of 5`);
console.log(['step'.padEnd(22), ...MODES.map((m) => m.padStart(13))].join(''));
for (const [i, [name]] of STEPS.entries()) {
  const cells = MODES.map((m) =>
    median(results.get(m)!.map((t) => t[i]!))
      .toFixed(1)
      .padStart(13),
  );
  console.log([name.padEnd(22), ...cells].join(''));
}
const totals = MODES.map((m) => median(results.get(m)!.map((t) => t.reduce((a, b) => a + b, 0))));
console.log(['total'.padEnd(22), ...totals.map((t) => t.toFixed(1).padStart(13))].join(''));
console.log(
  ['µs per notification'.padEnd(22), ...totals.map((t) => ((t * 1000) / n).toFixed(0).padStart(13))].join(''),
);
