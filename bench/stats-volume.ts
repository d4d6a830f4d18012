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
import { createLogger } from '../src/logger.ts';
import { deliveryStats } from '../src/stats/delivery-stats.ts';
import { sealStats } from '../src/stats/stats-rollup.ts';
import { type NamedWindow, resolveWindow } from '../src/stats/stats-window.ts';
import { type ActivitySamples, activityCases, pickActivitySamples } from './activity-cases.ts';

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
  // An SMS from about three weeks ago.
  const samples = await pickActivitySamples(database.db, new Date(Date.now() - 20 * 86_400_000));
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

function buildCases(s: ActivitySamples): Case[] {
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
  const range = { from: new Date(Date.now() - 10 * 86_400_000), label: '10 days ago' };
  for (const c of activityCases(s, range)) {
    cases.push({ ...c, budgetMs: c.filtered ? FILTERED_MS : FIRST_PAGE_MS, explainable: true });
  }
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
