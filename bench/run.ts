/**
 * `npm run bench`: the floors, then the service under load, then the figures (docs/performance.md).
 *   1. database floor and provider floor, each alone, same engine and machine;
 *   2. sandbox + service processes on a fresh, seeded database;
 *   3. latency phase (fixed offered rate) and throughput phase (`--rate`, max by default), each a
 *      warm-up then the measured window, from a separate autocannon process;
 *   4. bulk phase: batches of notifications (POST /api/v1/notifications/batch) at a small
 *      concurrency, then the time the whole pipeline takes to drain them;
 *   5. status-callback capacity: signed callbacks posted as fast as the service takes them;
 *   6. stop everything, read the service's own timestamps, join SMS to sandbox receipts, report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNotificationType } from '../src/catalog/catalog.ts';
import { analyseBulk, analysePhase, type Window } from './analyse.ts';
import type { BulkSummary } from './bulk-load.ts';
import { type BenchDatabase, createBenchDatabase } from './environment.ts';
import type { DatabaseFloorPlan, DatabaseFloorResult } from './floors/database-floor.ts';
import type { ProviderFloorPlan, ProviderFloorResult } from './floors/provider-floor.ts';
import type { LoadSummary } from './load-generator.ts';
import { readStoredFigures } from './measurements.ts';
import { type BenchOptions, HELP, parseOptions, UsageError } from './options.ts';
import { runLoad, Samplers, waitForDrain } from './phases.ts';
import { PostgresServerSampler, ROOT, runJsonProcess } from './processes.ts';
import { Progress } from './progress.ts';
import { markdownTable, svgChart } from './report.ts';
import type { BenchResult, BulkResult, PhaseResult } from './result.ts';
import { type Sandbox, type Service, startSandbox, startService } from './service.ts';

const TYPE = 'order_confirmed';
const FLOOR_SMS_BODY =
  'LaundryConnect: Hi Priya, order LC240117 is confirmed. Pickup Sat 18 Jan, 9-11 AM by FreshFold Laundry. Track it in the app.';
const floorScript = (name: string) => fileURLToPath(new URL(`./floors/${name}.ts`, import.meta.url));

/** Rows the service writes when it accepts one notification: one delivery per channel of the type. */
function deliveryShape(o: BenchOptions): { channel: string; status: string }[] {
  const channels: readonly string[] = o.channels;
  return getNotificationType(TYPE)!.channels.map((channel) => ({
    channel,
    status: channels.includes(channel) ? 'queued' : 'skipped',
  }));
}

async function measureFloors(o: BenchOptions, progress: Progress) {
  const type = getNotificationType(TYPE)!;
  const floorDb = await createBenchDatabase(o.engine, o.postgresUrl);
  let database: DatabaseFloorResult & { peakRssMb: number };
  try {
    progress.phase('database floor', o.floorDuration + 1);
    const plan: DatabaseFloorPlan = {
      engine: o.engine,
      target: floorDb.target,
      seconds: o.floorDuration,
      warmup: 1,
      deliveries: deliveryShape(o),
      title: 'Order confirmed',
      message: 'Your order LC240117 is confirmed. Pickup Sat 18 Jan, 9-11 AM.',
      context: type.sampleContext,
      concurrency: 10,
    };
    const r = await runJsonProcess<DatabaseFloorResult>('database floor', [
      floorScript('database-floor'),
      JSON.stringify(plan),
    ]);
    database = { ...r.result, peakRssMb: r.peakRssMb };
  } finally {
    progress.done();
    await floorDb.drop();
  }
  const sandbox = await startSandbox('floor sandbox', o.stepMs);
  let provider: ProviderFloorResult & { peakRssMb: number };
  try {
    progress.phase('provider floor', o.floorDuration + 1);
    const plan: ProviderFloorPlan = {
      sandboxUrl: sandbox.url,
      accountSid: sandbox.accountSid,
      authToken: sandbox.authToken,
      seconds: o.floorDuration,
      warmup: 1,
      concurrency: 64,
      users: o.users,
      body: FLOOR_SMS_BODY,
    };
    const r = await runJsonProcess<ProviderFloorResult>('provider floor', [
      floorScript('provider-floor'),
      JSON.stringify(plan),
    ]);
    provider = { ...r.result, peakRssMb: r.peakRssMb };
  } finally {
    progress.done();
    await sandbox.process.stop();
  }
  const lower =
    database.notificationsPerSecond <= provider.messagesPerSecond
      ? { name: 'database' as const, perSecond: database.notificationsPerSecond }
      : { name: 'provider' as const, perSecond: provider.messagesPerSecond };
  return { database, provider, lower };
}

interface PhaseRun {
  name: PhaseResult['name'];
  offered: number | 'max';
  load: LoadSummary;
}

const phaseLabel = (name: string, offered: number | 'max') =>
  `${name} phase${offered === 'max' ? '' : ` @${offered}/s`}`;

/** CPU cores of every process over the window; of the load generators, only the phase's own. */
function phaseCpu(samplers: Samplers, label: string, w: Window): Record<string, number> {
  const cpuCores: Record<string, number> = {};
  for (const name of samplers.names()) {
    if (name.startsWith('load generator') && name !== `load generator (${label})`) continue;
    cpuCores[name.startsWith('load generator') ? 'load generator' : name] = samplers.cpuCores(name, w);
  }
  return cpuCores;
}

async function runPipeline(o: BenchOptions, db: BenchDatabase, progress: Progress, warnings: string[]) {
  const samplers = new Samplers();
  let sandbox: Sandbox | undefined;
  let service: Service | undefined;
  const receipts = new Map<string, number>();
  const phases: PhaseRun[] = [];
  let bulkLoad: BulkSummary | undefined;
  let callbackLoad: LoadSummary | undefined;
  try {
    sandbox = await startSandbox('sandbox', o.stepMs);
    samplers.add('sandbox', sandbox.process.child.pid!);
    service = await startService(db, sandbox, { cpuProf: o.cpuProf });
    for (const p of service.processes) samplers.add(p.name, p.child.pid!);
    if (o.engine === 'postgres') samplers.add('PostgreSQL server', new PostgresServerSampler());

    const plans: { name: PhaseResult['name']; rate: number | 'max' }[] =
      o.rate === 'max'
        ? [
            { name: 'latency', rate: o.latencyRate },
            { name: 'throughput', rate: 'max' },
          ]
        : [{ name: 'throughput', rate: o.rate }];
    let expectedSms = (await sandbox.stats()).created;
    /** Wait for the phase's SMS, then keep their receipt times (the sandbox forgets them). */
    const drain = async (phase: string, accepted: number, whileMoving = false) => {
      expectedSms += accepted;
      const queued = () => service!.queued();
      if (!(await waitForDrain(sandbox!, expectedSms, progress, { queued, whileMoving })))
        warnings.push(
          `${phase} phase: the queue had not drained 180 s after ${whileMoving ? 'its last SMS' : 'the load stopped'}`,
        );
      await new Promise((r) => setTimeout(r, 500)); // the last callbacks' responses
      const messages = await sandbox!.drainMessages();
      for (const m of messages) receipts.set(m.sid, m.receivedAt);
      return messages;
    };
    let lastMessages: { sid: string; to: string; receivedAt: number }[] = [];
    for (const plan of plans) {
      const load = await runLoad(
        {
          kind: 'notifications',
          url: service.url,
          apiKey: service.adminKey,
          users: o.users,
          type: TYPE,
          context: getNotificationType(TYPE)!.sampleContext,
          seconds: o.warmup + o.duration,
          rate: plan.rate,
          connections: o.connections,
        },
        phaseLabel(plan.name, plan.rate),
        progress,
        samplers,
        sandbox,
      );
      phases.push({ name: plan.name, offered: plan.rate, load });
      lastMessages = await drain(plan.name, load.ok);
    }
    if (o.bulkDuration > 0) {
      bulkLoad = await runLoad<BulkSummary>(
        {
          kind: 'bulk',
          url: service.url,
          apiKey: service.adminKey,
          users: o.users,
          type: TYPE,
          context: getNotificationType(TYPE)!.sampleContext,
          seconds: o.warmup + o.bulkDuration,
          batchSize: o.batchSize,
          concurrency: o.bulkConcurrency,
        },
        'bulk phase',
        progress,
        samplers,
        sandbox,
      );
      // Its backlog can outlast any fixed timeout while still moving: drained as long as it moves.
      await drain('bulk', bulkLoad.items.created, true);
    }
    if (o.callbacksDuration > 0 && lastMessages.length > 0) {
      callbackLoad = await runLoad(
        {
          kind: 'callbacks',
          url: service.url,
          callbackUrl: service.callbackUrl,
          authToken: sandbox.authToken,
          accountSid: sandbox.accountSid,
          messages: lastMessages.map((m) => ({ sid: m.sid, to: m.to })),
          seconds: 1 + o.callbacksDuration,
          connections: o.connections,
        },
        'status callbacks',
        progress,
        samplers,
        sandbox,
      );
    }
  } finally {
    progress.note('stopping the service (it drains in-flight deliveries first)');
    await service?.stop();
    await sandbox?.process.stop();
    samplers.stop();
  }
  return {
    samplers,
    receipts,
    phases,
    bulkLoad,
    callbackLoad,
    serviceNames: service.processes.map((p) => p.name),
  };
}

async function main(argv: string[]): Promise<number> {
  let o: BenchOptions | 'help';
  try {
    o = parseOptions(argv);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (o === 'help') {
    console.log(HELP);
    return 0;
  }
  const progress = new Progress();
  const warnings: string[] = [];
  const started = new Date();
  const loadAtStart = os.loadavg()[0]!;
  progress.note(`LaundryConnect Notify bench on ${o.engine}: floors, then the pipeline`);
  const floors = await measureFloors(o, progress);
  progress.note(`seeding ${o.users} users opted in to ${o.channels.join(', ')}`);
  const db = await createBenchDatabase(o.engine, o.postgresUrl, { users: o.users, channels: o.channels });
  try {
    const run = await runPipeline(o, db, progress, warnings);
    const stored = await readStoredFigures(db);
    try {
      const shape = await stored.deliveryShape();
      const expected = deliveryShape(o);
      if (JSON.stringify([...shape].sort(byChannel)) !== JSON.stringify([...expected].sort(byChannel)))
        warnings.push(
          `the database floor wrote ${JSON.stringify(expected)}, the service ${JSON.stringify(shape)}`,
        );
      const phases: PhaseResult[] = [];
      for (const p of run.phases) {
        const measured = { from: p.load.startedAt + o.warmup * 1000, to: p.load.endedAt };
        const rows = await stored.notifications({ from: p.load.startedAt - 1000, to: p.load.endedAt + 1000 });
        const figures = analysePhase(rows, run.receipts, o.channels, {
          startedAt: p.load.startedAt,
          measured,
        });
        const cpuCores = phaseCpu(run.samplers, phaseLabel(p.name, p.offered), measured);
        if (p.load.non2xx > 0 || p.load.errors > 0)
          warnings.push(`${p.name} phase: ${p.load.non2xx} non-2xx answers, ${p.load.errors} errors`);
        if (figures.incomplete > 0)
          warnings.push(`${p.name} phase: ${figures.incomplete} notifications never completed`);
        phases.push({
          name: p.name,
          offered: p.offered,
          measured,
          load: p.load,
          figures,
          callbacksStoredPerSecond: await stored.callbacksPerSecond(measured),
          cpuCores,
        });
      }
      const bulk = run.bulkLoad ? await bulkResult(o, run.bulkLoad, stored, run, floors, warnings) : null;
      let callbackCapacity: BenchResult['callbackCapacity'] = null;
      if (run.callbackLoad) {
        const l = run.callbackLoad;
        const w = { from: l.startedAt + 1000, to: l.endedAt };
        callbackCapacity = {
          seconds: (w.to - w.from) / 1000,
          // autocannon's answered count covers the whole run, warm-up second included. The load is
          // Twilio's retries of a `delivered` already recorded: since migration 0008 they are
          // checked and answered but add no history row, so what counts is the callbacks answered.
          handledPerSecond: l.ok / ((l.endedAt - l.startedAt) / 1000),
          non2xx: l.non2xx,
        };
        if (l.non2xx > 0) warnings.push(`status callbacks: ${l.non2xx} non-2xx answers`);
      }
      const result = buildResult(
        o,
        started,
        loadAtStart,
        floors,
        phases,
        bulk,
        callbackCapacity,
        run,
        warnings,
      );
      const table = markdownTable(result);
      const outDir = resolve(ROOT, o.out);
      mkdirSync(outDir, { recursive: true });
      const stamp = `${started.toISOString().replace(/[:.]/g, '-')}-${o.engine}`;
      writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
      writeFileSync(join(outDir, `${stamp}.md`), table);
      writeFileSync(join(outDir, `${stamp}.svg`), svgChart(result));
      console.log(`\n${table}`);
      console.log(`Results: ${join(outDir, stamp)}.{json,md,svg}`);
      return 0;
    } finally {
      await stored.close();
    }
  } finally {
    await db.drop();
  }
}

const byChannel = (a: { channel: string }, b: { channel: string }) => a.channel.localeCompare(b.channel);

async function bulkResult(
  o: BenchOptions,
  load: BulkSummary,
  stored: Awaited<ReturnType<typeof readStoredFigures>>,
  run: Awaited<ReturnType<typeof runPipeline>>,
  floors: BenchResult['floors'],
  warnings: string[],
): Promise<BulkResult> {
  const measured = { from: load.startedAt + o.warmup * 1000, to: load.endedAt };
  // From the phase's start exactly: the throughput phase before it had drained, so a notification
  // created since is this phase's. (Its first batch cannot commit before it was sent.)
  const rows = await stored.notifications({ from: load.startedAt, to: load.endedAt + 1000 });
  const { batches, ...summary } = load;
  const figures = analyseBulk(batches, rows, run.receipts, o.channels, measured);
  const notCreated = Object.fromEntries(Object.entries(load.items.statuses).filter(([k]) => k !== '201'));
  const failed = load.items.sent - load.items.created;
  if (failed > 0) warnings.push(`bulk phase: ${failed} items not created (${JSON.stringify(notCreated)})`);
  if (rows.length !== load.items.created)
    warnings.push(
      `bulk phase: ${load.items.created} items answered 201, ${rows.length} notifications stored`,
    );
  if (figures.drain.incomplete > 0)
    warnings.push(`bulk phase: ${figures.drain.incomplete} notifications never completed`);
  return {
    batchSize: o.batchSize,
    concurrency: o.bulkConcurrency,
    measured,
    load: summary,
    figures,
    notCreated,
    acceptedPercentOfDatabaseFloor:
      (100 * figures.acceptedPerSecond) / floors.database.notificationsPerSecond,
    drainPercentOfLowerFloor: (100 * figures.drain.perSecond) / floors.lower.perSecond,
    cpuCores: phaseCpu(run.samplers, 'bulk phase', measured),
  };
}

function buildResult(
  o: BenchOptions,
  started: Date,
  loadAtStart: number,
  floors: BenchResult['floors'],
  phases: PhaseResult[],
  bulk: BulkResult | null,
  callbackCapacity: BenchResult['callbackCapacity'],
  run: Awaited<ReturnType<typeof runPipeline>>,
  warnings: string[],
): BenchResult {
  const throughput = phases.find((p) => p.name === 'throughput')!;
  const latency = phases.find((p) => p.name === 'latency') ?? throughput;
  const processes: BenchResult['processes'] = {};
  const peakRssMb: Record<string, number> = {};
  for (const name of run.samplers.names()) {
    const key = name.startsWith('load generator') ? 'load generator' : name;
    const peak = Math.max(peakRssMb[key] ?? 0, run.samplers.peakRssMb(name));
    peakRssMb[key] = peak;
    processes[key] = { peakRssMb: peak, cpuCores: throughput.cpuCores[key] ?? 0 };
  }
  const cpu = os.cpus();
  const { p50, p95, p99, max } = latency.figures.smsLatencyMs;
  return {
    version: 1,
    date: started.toISOString(),
    machine: {
      cpus: cpu.length,
      model: cpu[0]?.model.trim() ?? 'unknown',
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.versions.node,
      kernel: os.release(),
      loadAverage: [loadAtStart, os.loadavg()[0]!],
    },
    options: o,
    floors,
    phases,
    bulk,
    callbackCapacity,
    processes,
    headline: {
      endToEndPerSecond: throughput.figures.endToEndPerSecond,
      percentOfLowerFloor: (100 * throughput.figures.endToEndPerSecond) / floors.lower.perSecond,
      latencyAtRate: typeof latency.offered === 'number' ? latency.offered : 0,
      smsLatencyMs: { p50, p95, p99, max },
      callbacksPerSecond: callbackCapacity?.handledPerSecond ?? throughput.callbacksStoredPerSecond,
      peakRssMb,
      cpuCores: throughput.cpuCores,
      maxQueueDepth: throughput.figures.maxQueueDepth,
    },
    warnings,
  };
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof UsageError ? err.message : err);
  process.exitCode = 1;
}
// Keep-alive sockets and pools must not keep a finished bench alive.
process.exit();
