/**
 * The console's reads at volume (issue 15's quality bar): against a database seeded by
 * `npm run bench:seed`, times the stats overview (today / 7d / 30d) as the module call and through
 * the HTTP route, and the activity list's first page, a next page and filtered pages. Reports p50
 * and p95 of --runs runs each (after warm-up runs), against the budget: 300 ms for the overview and
 * the first activity page, 500 ms for a filtered page; then EXPLAIN ANALYZE of every statement of
 * each case over budget. Server-side: the module call in this process, and the route over loopback
 * (auth, validation, serialisation included; no network).
 *
 * Usage: DATABASE_URL=postgresql://.../lcn_volume npm run bench:stats -- [--runs 20] [--tz Asia/Kolkata]
 *        [--only substring] [--explain all|slow|none]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type SQL, sql } from 'drizzle-orm';
import { startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { openDatabase, type Queryable, queryRows } from '../src/db/database.ts';
import { type ActivityFilter, activityPage } from '../src/deliveries/activity-query.ts';
import { createLogger } from '../src/logger.ts';
import { deliveryStats } from '../src/stats/delivery-stats.ts';
import { sealStats } from '../src/stats/stats-rollup.ts';
import { type NamedWindow, resolveWindow } from '../src/stats/stats-window.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '2' },
    tz: { type: 'string', default: 'Asia/Kolkata' },
    only: { type: 'string' },
    explain: { type: 'string', default: 'slow' },
  },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
if (!Number.isInteger(warmup) || warmup < 0) throw new Error('--warmup must be a whole number');
if (!['all', 'slow', 'none'].includes(values.explain)) throw new Error('--explain is all, slow or none');
const url = process.env['DATABASE_URL'];
if (!url) {
  console.error('bench:stats reads PostgreSQL: set DATABASE_URL to the database bench:seed filled.');
  process.exit(2);
}
const timeZone = values.tz;

const OVERVIEW_MS = 300;
const FIRST_PAGE_MS = 300;
const FILTERED_MS = 500;

interface Case {
  name: string;
  budgetMs: number;
  run: (q: Queryable) => Promise<unknown>;
  /** The module cases can be explained (their statements captured); the HTTP ones are the same SQL. */
  explainable: boolean;
}

const logger = createLogger('silent');
const database = await openDatabase({ databaseUrl: url, dataDir: 'unused', logger });
const adminKey = `lcn_statsbench_${randomBytes(16).toString('hex')}`;
const app = await startApp({
  config: loadConfig({
    DATABASE_URL: url,
    PORT: '0',
    ADMIN_API_KEY: adminKey,
    STATS_TIME_ZONE: timeZone,
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: 'warn',
  }),
  api: true,
  worker: false,
  logger,
});
try {
  const [volume] = await queryRows<{ notifications: number; deliveries: number }>(
    database.db,
    sql`select (select count(*) from notifications)::int as notifications,
               (select count(*) from deliveries)::int as deliveries`,
  );
  // What a worker does every 5 minutes (a freshly seeded database has never had one running).
  const sealStart = performance.now();
  const sealed = await sealStats(database.db);
  process.stderr.write(
    `stats rollup sealed (${sealed} transactions, ${((performance.now() - sealStart) / 1000).toFixed(1)} s)\n`,
  );
  const samples = await pickSamples(database.db);
  process.stderr.write(
    `${volume?.notifications.toLocaleString('en')} notifications, ${volume?.deliveries.toLocaleString('en')} deliveries; ` +
      `${runs} runs per case after ${warmup} warm-up; zone ${timeZone}\n`,
  );
  const cases = buildCases(samples).filter((c) => !values.only || c.name.includes(values.only));
  const results: { c: Case; p50: number; p95: number; max: number }[] = [];
  for (const c of cases) {
    const times: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      await c.run(database.db);
      if (i >= warmup) times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const r = { c, p50: percentile(times, 50), p95: percentile(times, 95), max: times.at(-1) ?? 0 };
    results.push(r);
    process.stderr.write(`${c.name.padEnd(52)} p50 ${ms(r.p50)}  p95 ${ms(r.p95)}\n`);
  }
  console.log(`| case | budget | p50 ms | p95 ms | max ms | within |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | --- |`);
  for (const { c, p50, p95, max } of results) {
    console.log(
      `| ${c.name} | ${c.budgetMs} | ${ms(p50)} | ${ms(p95)} | ${ms(max)} | ${p95 <= c.budgetMs ? 'yes' : 'NO'} |`,
    );
  }
  for (const { c, p95 } of results) {
    if (!c.explainable || values.explain === 'none' || (values.explain === 'slow' && p95 <= c.budgetMs))
      continue;
    console.log(`\n### EXPLAIN ANALYZE: ${c.name} (p95 ${ms(p95)} ms)\n`);
    for (const plan of await explain(c, database.db)) console.log(`\`\`\`\n${plan}\n\`\`\``);
  }
} finally {
  await app.close();
  await database.close();
}

/** Real values to filter by, chosen from the seeded data rather than assumed. */
async function pickSamples(q: Queryable) {
  const [users] = await queryRows<{ heavy: string; typical: string }>(
    q,
    sql`with c as (select user_id, count(*) as n from notifications group by user_id)
        select (select u.external_id from c join users u on u.id = c.user_id order by c.n desc limit 1) as heavy,
               (select u.external_id from c join users u on u.id = c.user_id
                order by c.n limit 1 offset (select count(*) / 2 from c)) as typical`,
  );
  // An SMS from about three weeks ago: a sid lookup must not depend on the row being recent.
  const [old] = await queryRows<{ sid: string; notification_id: string; at: string }>(
    q,
    sql`select d.provider_message_id as sid, n.notification_id, n.created_at::text as at
        from notifications n join deliveries d on d.notification_id = n.id
        where n.created_at < now() - interval '20 days' and d.provider_message_id like 'SM%'
        order by n.created_at desc limit 1`,
  );
  if (!users?.heavy || !users.typical || !old)
    throw new Error('the database holds no seeded volume: run bench:seed');
  // The second page's cursor, taken once: the case then times (and explains) that page alone.
  const secondPage = (await activityPage(q, {})).next_cursor ?? undefined;
  return { ...users, ...old, secondPage };
}

function buildCases(s: Awaited<ReturnType<typeof pickSamples>>): Case[] {
  const cases: Case[] = [];
  for (const window of ['today', '7d', '30d'] as NamedWindow[]) {
    cases.push({
      name: `overview ${window} (module)`,
      budgetMs: OVERVIEW_MS,
      explainable: true,
      run: (q) => {
        const now = new Date();
        return deliveryStats(q, resolveWindow({ window, timeZone, now }), now);
      },
    });
    cases.push({
      name: `overview ${window} (GET /api/v1/stats)`,
      budgetMs: OVERVIEW_MS,
      explainable: false,
      run: () => get(`/api/v1/stats?window=${window}&tz=${encodeURIComponent(timeZone)}`),
    });
  }
  const page = (name: string, budgetMs: number, filter: ActivityFilter): Case => ({
    name: `activity ${name}`,
    budgetMs,
    explainable: true,
    run: (q) => activityPage(q, filter),
  });
  const tenDaysAgo = Date.now() - 10 * 86_400_000;
  cases.push(
    page('first page', FIRST_PAGE_MS, {}),
    {
      name: 'activity second page (cursor)',
      budgetMs: FIRST_PAGE_MS,
      explainable: true,
      run: (q) => activityPage(q, {}, { cursor: s.secondPage }),
    },
    page('by user (the heaviest)', FILTERED_MS, { userId: s.heavy }),
    page('by user (a typical one)', FILTERED_MS, { userId: s.typical }),
    page('by type (common: order_confirmed)', FILTERED_MS, { type: 'order_confirmed' }),
    page('by type (rare: promo_offer)', FILTERED_MS, { type: 'promo_offer' }),
    page('by type (none: welcome)', FILTERED_MS, { type: 'welcome' }),
    page('by channel (push)', FILTERED_MS, { channel: 'push' }),
    page('by status (failed)', FILTERED_MS, { status: 'failed' }),
    page('by status (queued)', FILTERED_MS, { status: 'queued' }),
    page('by channel + status (push failed)', FILTERED_MS, { channel: 'push', status: 'failed' }),
    page('by channel + status (in_app failed: none)', FILTERED_MS, { channel: 'in_app', status: 'failed' }),
    page('by error code (30003)', FILTERED_MS, { errorCode: '30003' }),
    page('by error code (LEASE_EXPIRED: none)', FILTERED_MS, { errorCode: 'LEASE_EXPIRED' }),
    page('by provider sid', FILTERED_MS, { providerMessageId: s.sid }),
    page('by notification id', FILTERED_MS, { notificationId: s.notification_id }),
    page('by time range (1 h, 10 days ago)', FILTERED_MS, {
      from: new Date(tenDaysAgo),
      to: new Date(tenDaysAgo + 3_600_000),
    }),
    page('by time range + status (1 day, failed)', FILTERED_MS, {
      from: new Date(tenDaysAgo),
      to: new Date(tenDaysAgo + 86_400_000),
      status: 'failed',
    }),
    page('by user + status (heaviest, failed)', FILTERED_MS, { userId: s.heavy, status: 'failed' }),
  );
  return cases;
}

async function get(path: string): Promise<unknown> {
  const res = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${adminKey}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Runs the case once with every statement it sends run twice: wrapped in EXPLAIN (ANALYZE,
 * BUFFERS) for its plan, then as it is for the rows the case goes on with (one statement's result
 * can shape the next: the rollup's cover). Returns the plans.
 */
async function explain(c: Case, q: Queryable): Promise<string[]> {
  const plans: string[] = [];
  const capturing = {
    execute: async (statement: SQL) => {
      const rows = await queryRows<{ 'QUERY PLAN': string }>(q, sql`explain (analyze, buffers) ${statement}`);
      plans.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
      return q.execute(statement);
    },
  } as unknown as Queryable;
  await c.run(capturing);
  return plans;
}

function percentile(sorted: number[], p: number): number {
  // Nearest rank: with 20 runs, p95 is the 19th fastest.
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function ms(n: number): string {
  return n.toFixed(1).padStart(7);
}
