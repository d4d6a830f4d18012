/**
 * Table growth (issue 20 §5): do the hot paths stay flat as the tables grow? On a PostgreSQL
 * database of its own (created, and dropped at the end unless --keep), it grows the data in steps
 * (--steps, in deliveries: 0.1M → 1M → 3M → 10M by default) with bench/volume-seed.ts's generator,
 * history rows included, and at each step times, with the service's own module functions:
 *
 * - the claim: lc_claim_deliveries through claimDue, one worker pass with the worker's default
 *   wants (each channel's concurrency, at most a batch of 100), of real due rows; after each run
 *   the bench puts the claimed rows back in the queue (outside the timing), so every run claims;
 * - the status report: applyProviderStatuses (what the group-committed callback writer calls) for a
 *   batch of 100 `delivered` callbacks to sent SMS found by their SID, the newest ones as live
 *   (rotating through a pool); each applied row is put back to `sent` after the run;
 * - the activity queries: the activity list's cases (bench/activity-cases.ts: first page, next
 *   page, filtered pages) and one notification's timeline (the console's notification page: the
 *   notification, its deliveries and their history), a recent one and an old one.
 *
 * The data grows as time passes: notification g of the final total is created at a fixed rate
 * over --days (ids rise with time), so each step adds the next stretch of days; its last
 * --live notifications may still be live (30 % queued or sending), and the live rows of the step
 * before are deleted, so the queue stays a few thousand rows at every step, as a live one does,
 * whatever the table's size. The seeding session runs with session_replication_role =
 * replica: no foreign-key checks and no triggers (the stats rollup's dirty marks and the webhook
 * outbox, which the measured cases do not read); the rows are consistent by construction. After
 * each step: VACUUM ANALYZE, as autovacuum would have done on a live table.
 *
 * It prints p50/p95 per step × case with the ratio to the smallest step (flat: ≈ 1), then the
 * plans of every statement of each case at the largest step, EXPLAIN (ANALYZE, BUFFERS) as
 * auto_explain logs them (nested statements included: the claim and the status report are
 * PL/pgSQL functions). Results in docs/performance.md, "Table growth (issue 20 §5)".
 *
 * SIGINT (Ctrl-C) while it seeds stops the growth: that step ends where the seeding got to, is
 * measured and explained as the largest, and the database is dropped as usual.
 *
 * Usage: npm run bench:growth -- [--steps 0.1,1,3,10] [--days 180] [--live 5000] [--runs 30]
 *        [--warmup 5] [--only substring] [--keep] [--database lcn_growth]
 *        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { type Database, openDatabase, type Queryable, queryRows } from '../src/db/database.ts';
import { runMigrations } from '../src/db/migrate.ts';
import * as schema from '../src/db/schema.ts';
import { applyProviderStatuses } from '../src/deliveries/apply-provider-statuses.ts';
import { type ClaimWant, claimDue } from '../src/deliveries/claim.ts';
import { notificationTimeline } from '../src/deliveries/delivery-timeline.ts';
import { createLogger } from '../src/logger.ts';
import { activityCases, pickActivitySamples } from './activity-cases.ts';
import { percentiles } from './analyse.ts';
import { prepareSeedUsers, seedProgress, seedRange } from './volume-seed.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '0.1,1,3,10' },
    days: { type: 'string', default: '180' },
    live: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    only: { type: 'string' },
    keep: { type: 'boolean', default: false },
    database: { type: 'string', default: 'lcn_growth' },
    'postgres-url': { type: 'string', default: 'postgresql://postgres@127.0.0.1:5432/postgres' },
  },
});
const steps = values.steps.split(',').map((s) => Math.round(Number(s) * 1_000_000));
if (steps.some((s, i) => !Number.isInteger(s) || s < 1000 || (i > 0 && s <= (steps[i - 1] ?? 0))))
  throw new Error('--steps: rising sizes in millions of deliveries, e.g. 0.1,1,3,10');
const days = Number(values.days);
const live = Number(values.live);
const runs = Number(values.runs);
const warmup = Number(values.warmup);
for (const [name, n, min] of [
  ['--days', days, 1],
  ['--live', live, 0],
  ['--runs', runs, 1],
  ['--warmup', warmup, 0],
] as const) {
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number ≥ ${min}`);
}
if (!/^[a-z_][a-z0-9_]*$/.test(values.database)) throw new Error('--database: a plain lower-case name');

/** Deliveries per notification the generator writes on average (in-app 95 %, SMS 65 %, email 40 %, push 20 %). */
const DELIVERIES_PER_NOTIFICATION = 2.2;
const STATUS_BATCH = 100;
const STATUS_POOL = 1000;
const USERS = 10_000;

const config = loadConfig({});
/** One worker pass with nothing in flight: each channel's free slots, at most a batch. */
const WANTS: ClaimWant[] = (
  [
    ['in_app', config.WORKER_CONCURRENCY_IN_APP],
    ['sms', config.WORKER_CONCURRENCY_SMS],
    ['email', config.WORKER_CONCURRENCY_EMAIL],
    ['push', config.WORKER_CONCURRENCY_PUSH],
  ] as const
).map(([channel, n]) => ({ channel, limit: Math.min(n, config.WORKER_BATCH_SIZE) }));

interface Case {
  name: string;
  run: (q: Queryable) => Promise<unknown>;
  /** Undo what the run changed (outside the timing), so the next run does the same work. */
  after?: (result: unknown) => Promise<void>;
}

interface StepFigures {
  deliveries: number;
  history: number;
  /** Heap + indexes of deliveries, notifications, history (GB). */
  sizeGb: number;
  load: number;
  cases: Map<string, { p50: number; p95: number }>;
}

const admin = new pg.Client({ connectionString: values['postgres-url'] });
await admin.connect();
const dbUrl = withDatabase(values['postgres-url'], values.database);
try {
  await admin.query(`create database ${values.database}`);
} catch (err) {
  console.error(
    `bench:growth needs a database of its own: ${(err as Error).message} (drop it, or --database)`,
  );
  process.exit(2);
}
const logger = createLogger('silent');
let database: Database | undefined;
const seeder = new pg.Client({ connectionString: dbUrl });
const explainer = new pg.Client({ connectionString: dbUrl });
try {
  database = await openDatabase({ databaseUrl: dbUrl, dataDir: 'unused', logger });
  await runMigrations(database);
  await seeder.connect();
  await seeder.query('set session_replication_role = replica');
  const tag = `seed-${randomBytes(4).toString('hex')}`;
  const users = await prepareSeedUsers(seeder, { tag, users: USERS, reuse: false });
  const total = Math.round((steps.at(-1) ?? 0) / DELIVERIES_PER_NOTIFICATION);
  const spanSeconds = days * 86_400;
  // The last notification is created now: the timeline ends where a live database's does.
  const start = new Date(Date.now() - spanSeconds * 1000);
  const at = (g: number) => new Date(start.getTime() + (g / total) * spanSeconds * 1000);
  process.stderr.write(
    `${steps.length} steps to ${total.toLocaleString('en')} notifications over ${days} days; ` +
      `${runs} runs per case after ${warmup} warm-up; load ${loadavg()[0]?.toFixed(1)}\n`,
  );

  let stopping = false;
  process.on('SIGINT', () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write('\nstopping the growth after this batch (SIGINT again to quit at once)\n');
  });
  const figures: StepFigures[] = [];
  let seeded = 0;
  let cases: Case[] = [];
  for (const [i, size] of steps.entries()) {
    if (stopping) break;
    const last = Math.round(size / DELIVERIES_PER_NOTIFICATION);
    const started = Date.now();
    const first = seeded + 1;
    seeded = await seedRange(seeder, {
      tag,
      first,
      last,
      total,
      users,
      start,
      spanSeconds,
      liveAfter: at(Math.max(first - 1, last - live)),
      history: true,
      onBatch: (n) =>
        seedProgress(
          `step ${i + 1}/${steps.length}: notifications ${(first - 1 + n).toLocaleString('en')}/${last.toLocaleString('en')}`,
          n / (last - first + 1),
          started,
        ),
      stop: () => stopping,
    });
    // The queue of the step before is gone by now: its rows were claimed and sent long ago. Not
    // on the seeder's session: without triggers, deleting would leave their history behind.
    await queryRows(
      database.db,
      sql`delete from deliveries where status in ('queued', 'sending') and created_at < ${at(first - 1).toISOString()}::timestamptz`,
    );
    process.stderr.write('vacuum analyze...\n');
    for (const table of ['users', 'notifications', 'deliveries', 'delivery_status_history'])
      await seeder.query(`vacuum analyze ${table}`);
    const step = await measureStep(database.db);
    process.stderr.write(
      `step ${i + 1}: ${step.deliveries.toLocaleString('en')} deliveries, ${step.history.toLocaleString('en')} history rows, ` +
        `${step.sizeGb.toFixed(2)} GB, seeded in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    );
    figures.push(step);
    // The table so far after each step: a run stopped later still leaves its figures.
    printTable(figures);
  }

  await explainer.connect();
  await explainCases(cases);

  async function measureStep(q: Queryable): Promise<StepFigures> {
    const [counts] = await queryRows<{ deliveries: number; history: number; bytes: string }>(
      q,
      sql`select (select count(*) from deliveries)::int as deliveries,
                 (select count(*) from delivery_status_history)::int as history,
                 (pg_total_relation_size('deliveries') + pg_total_relation_size('notifications')
                  + pg_total_relation_size('delivery_status_history'))::text as bytes`,
    );
    cases = (await buildCases(q)).filter((c) => !values.only || c.name.includes(values.only));
    const load = loadavg()[0] ?? 0;
    const byCase = new Map<string, { p50: number; p95: number }>();
    for (const c of cases) {
      const times: number[] = [];
      for (let r = 0; r < warmup + runs; r++) {
        const t0 = performance.now();
        const result = await c.run(q);
        if (r >= warmup) times.push(performance.now() - t0);
        await c.after?.(result);
      }
      const { p50, p95 } = percentiles(times);
      byCase.set(c.name, { p50, p95 });
      process.stderr.write(`  ${c.name.padEnd(60)} p50 ${ms(p50)}  p95 ${ms(p95)}\n`);
    }
    return {
      deliveries: counts?.deliveries ?? 0,
      history: counts?.history ?? 0,
      sizeGb: Number(counts?.bytes ?? 0) / 1e9,
      load,
      cases: byCase,
    };
  }
} finally {
  await explainer.end().catch(() => undefined);
  await seeder.end().catch(() => undefined);
  await database?.close();
  if (!values.keep) await admin.query(`drop database if exists ${values.database} with (force)`);
  else process.stderr.write(`kept ${values.database}\n`);
  await admin.end();
}

/** The cases, with their samples taken from the data as it is at this step. */
async function buildCases(q: Queryable): Promise<Case[]> {
  const [span] = await queryRows<{ oldest: string; newest: string; newest_id: string }>(
    q,
    sql`select (select min(created_at) from notifications)::text as oldest,
               (select max(created_at) from notifications)::text as newest,
               (select notification_id from notifications order by created_at desc, id desc limit 1) as newest_id`,
  );
  if (!span) throw new Error('no notifications seeded');
  const oldest = new Date(span.oldest).getTime();
  const newest = new Date(span.newest).getTime();
  // Dated within the data at every step: an SMS of its first quarter, time ranges from its middle.
  const samples = await pickActivitySamples(q, new Date(oldest + (newest - oldest) / 4));
  const range = { from: new Date((oldest + newest) / 2), label: 'mid-data' };
  // Sent SMS awaiting their final callback, the newest first: callbacks come for what was just sent.
  const sent = await queryRows<{ id: string; sid: string }>(
    q,
    sql`select id::text, provider_message_id as sid from deliveries
        where channel = 'sms' and status = 'sent' and provider_message_id is not null
        order by id desc limit ${STATUS_POOL}`,
  );
  if (sent.length < STATUS_BATCH)
    throw new Error(`only ${sent.length} sent SMS to report on: grow the first step`);
  let next = 0;
  return [
    {
      name: `claim (${WANTS.map((w) => `${w.channel} ${w.limit}`).join(', ')})`,
      run: async (q) => {
        const jobs = await claimDue(q, WANTS, 'growth-bench', config.WORKER_LEASE_MS);
        const wanted = WANTS.reduce((n, w) => n + w.limit, 0);
        if (jobs.length < wanted)
          throw new Error(`claimed ${jobs.length} of ${wanted}: the queue ran dry (--live)`);
        return jobs.map((j) => j.deliveryId);
      },
      after: async (ids) => {
        await queryRows(
          database!.db,
          sql`update deliveries set status = 'queued', lease_owner = null, lease_expires_at = null,
                attempts = attempts - 1
              where id = any(${`{${(ids as string[]).join(',')}}`}::bigint[])`,
        );
      },
    },
    {
      name: `status report (${STATUS_BATCH} delivered callbacks by SID)`,
      run: async (q) => {
        const batch = Array.from({ length: STATUS_BATCH }, () => sent[next++ % sent.length]!);
        const applied = await applyProviderStatuses(
          q,
          batch.map((s) => ({
            providerMessageId: s.sid,
            providerStatus: 'delivered',
            errorCode: null,
            errorMessage: null,
            price: null,
            retryAt: null,
          })),
        );
        if (applied.some((a) => !a?.applied))
          throw new Error('a status report found no sent SMS to apply to');
        return batch.map((s) => s.id);
      },
      after: async (ids) => {
        await queryRows(
          database!.db,
          sql`update deliveries set status = 'sent', provider_status = 'sent', delivered_at = null
              where id = any(${`{${(ids as string[]).join(',')}}`}::bigint[])`,
        );
      },
    },
    ...activityCases(samples, range),
    { name: 'timeline (the newest notification)', run: (q) => notificationTimeline(q, span.newest_id) },
    { name: 'timeline (an old notification)', run: (q) => notificationTimeline(q, samples.notification_id) },
  ];
}

function printTable(figures: StepFigures[]): void {
  const first = figures[0];
  const lastStep = figures.at(-1);
  if (!first || !lastStep) return;
  const label = (f: StepFigures) => `${(f.deliveries / 1e6).toFixed(f.deliveries < 1e6 ? 2 : 1)}M`;
  console.log(`| step: deliveries | ${figures.map((f) => label(f)).join(' | ')} |`);
  console.log(`| --- | ${figures.map(() => '---:').join(' | ')} |`);
  console.log(`| history rows | ${figures.map((f) => `${(f.history / 1e6).toFixed(1)}M`).join(' | ')} |`);
  console.log(`| tables + indexes | ${figures.map((f) => `${f.sizeGb.toFixed(1)} GB`).join(' | ')} |`);
  console.log(`| load average (1 min) | ${figures.map((f) => f.load.toFixed(1)).join(' | ')} |`);
  console.log(
    `\n| case: p50 ms (p95) | ${figures.map((f) => label(f)).join(' | ')} | p50 ratio ${label(lastStep)} / ${label(first)} |`,
  );
  console.log(`| --- | ${figures.map(() => '---:').join(' | ')} | ---: |`);
  for (const name of first.cases.keys()) {
    const cells = figures.map((f) => {
      const c = f.cases.get(name);
      return c ? `${c.p50.toFixed(1)} (${c.p95.toFixed(1)})` : '';
    });
    const a = first.cases.get(name)?.p50 ?? 0;
    const b = lastStep.cases.get(name)?.p50 ?? 0;
    console.log(`| ${name} | ${cells.join(' | ')} | ${a > 0 ? (b / a).toFixed(2) : ''} |`);
  }
}

/**
 * Each case once more on a session with auto_explain logging every statement's EXPLAIN (ANALYZE,
 * BUFFERS) to the client, nested ones too: the claim and the status report are PL/pgSQL.
 */
async function explainCases(list: Case[]): Promise<void> {
  let plans: string[] = [];
  explainer.on('notice', (msg) => {
    if (msg.severity === 'LOG' && msg.message?.includes('plan:')) plans.push(msg.message);
  });
  await explainer.query(`load 'auto_explain'`);
  for (const setting of [
    'auto_explain.log_min_duration = 0',
    'auto_explain.log_analyze = on',
    'auto_explain.log_buffers = on',
    'auto_explain.log_timing = on',
    'auto_explain.log_nested_statements = on',
    'client_min_messages = log',
  ])
    await explainer.query(`set ${setting}`);
  const q = drizzle(explainer, { schema }) as unknown as Queryable;
  for (const c of list) {
    plans = [];
    const result = await c.run(q);
    await c.after?.(result);
    console.log(`\n### ${c.name}\n`);
    // A statement run once per row (a trigger's) is shown once: its slowest plan and its count.
    const byText = new Map<string, { plan: string; ms: number; count: number }>();
    for (const plan of plans) {
      const text = /Query Text: ([\s\S]*?)\n(?=\S)/.exec(plan)?.[1] ?? plan;
      const took = Number(/duration: ([\d.]+) ms/.exec(plan)?.[1] ?? 0);
      const seen = byText.get(text);
      if (!seen) byText.set(text, { plan, ms: took, count: 1 });
      else
        byText.set(text, {
          plan: took > seen.ms ? plan : seen.plan,
          ms: Math.max(took, seen.ms),
          count: seen.count + 1,
        });
    }
    for (const { plan, count } of byText.values()) {
      console.log(`\`\`\`\n${count > 1 ? `(${count} times; the slowest)\n` : ''}${plan}\n\`\`\``);
    }
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function ms(n: number): string {
  return n.toFixed(1).padStart(7);
}
