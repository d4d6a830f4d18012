import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CuttableLink } from '../test/helpers/cuttable-link.ts';
import { assertNoneLostOrDuplicated, figuresOf, measure, writeFigures } from './figures.ts';
import {
  backgroundLoad,
  between,
  type CliProcess,
  createStore,
  FAST_ENV,
  freePort,
  runCli,
  type Sandbox,
  seedUsers,
  sleep,
  startSandbox,
  unsettled,
  until,
} from './harness.ts';

/**
 * The service reaches PostgreSQL through a TCP link the test controls (test/helpers/cuttable-link.ts):
 * its connections are reset under load, or the link stalls. The API and worker processes must live
 * on, answer (a 503 is an answer; the client retries it), and recover by themselves; nothing is lost
 * or sent twice. The database is measured directly, not through the link.
 */
const COUNT = 1_500;
const RATE = 150;
// Bounds small enough to see a stall answered within the scenario (defaults: 5 s, 30 s, 2 s).
const BOUNDS = {
  DATABASE_CONNECT_TIMEOUT_MS: '2000',
  DATABASE_STATEMENT_TIMEOUT_MS: '3000',
  READYZ_TIMEOUT_MS: '1000',
  SMS_REQUEST_TIMEOUT_MS: '5000',
};

interface Linked {
  url: string;
  link: CuttableLink;
  sandbox: Sandbox;
  api: CliProcess;
  worker: CliProcess;
  /** Notifications submitted in the background to this service (stopped at cleanup if still running). */
  load(count: number, perSecond: number): ReturnType<typeof backgroundLoad>;
}

/** A fresh database, an API and a worker process reaching it through a link; `run` gets them, cleanup is done. */
async function withLinkedService(
  run: (s: Linked, store: Awaited<ReturnType<typeof createStore>>) => Promise<void>,
): Promise<void> {
  const sandbox = await startSandbox();
  const store = await createStore('postgres');
  const target = new URL(store.url!);
  const link = new CuttableLink({ host: target.hostname, port: Number(target.port || 5432) });
  await link.open();
  const procs: CliProcess[] = [];
  const loads: Array<ReturnType<typeof backgroundLoad>> = [];
  try {
    await seedUsers(store, COUNT);
    const viaLink = new URL(store.url!);
    viaLink.port = String(link.port);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      ...FAST_ENV,
      ...BOUNDS,
      DATABASE_URL: viaLink.toString(),
      SMS_SANDBOX_URL: sandbox.url,
      PUBLIC_URL: url,
    };
    const api = runCli(['api'], { ...env, PORT: String(port) });
    procs.push(api);
    await api.waitForOutput(/listening on/, 60_000);
    const worker = runCli(['worker'], { ...env, WORKER_ID: 'db-link-w1' });
    procs.push(worker);
    const load = (count: number, perSecond: number) => {
      const l = backgroundLoad(() => url, count, perSecond, { concurrency: 16 });
      loads.push(l);
      return l;
    };
    await run({ url, link, sandbox, api, worker, load }, store);
  } finally {
    for (const l of loads) l.stop();
    link.resume();
    for (const p of procs) p.kill();
    await link.cut();
    await sandbox.stop();
    await store.drop();
  }
}

const alive = (p: CliProcess) => p.child.exitCode === null && p.child.signalCode === null;

/** Every SMS delivery settled, or a process died (nothing would settle then: assertAlive reports it with its stderr). */
async function untilSettledOrDead(store: Awaited<ReturnType<typeof createStore>>, procs: CliProcess[]) {
  await until(
    async () => !procs.every(alive) || (await unsettled(store)) === 0,
    180_000,
    'every SMS delivery settled',
    1000,
  );
}

function assertAlive(p: CliProcess, name: string) {
  assert.equal(p.child.exitCode, null, `the ${name} process stayed up\n${p.stderr().slice(-4000)}`);
  assert.equal(p.child.signalCode, null, `the ${name} process stayed up\n${p.stderr().slice(-4000)}`);
}

describe('PostgreSQL behind a link the test controls', () => {
  test('connections reset under load (16 creates at a time): the processes live on, none lost, none duplicated', async (t) => {
    const started = Date.now();
    await withLinkedService(async ({ link, sandbox, api, worker, load }, store) => {
      const submitted = load(COUNT, RATE);
      let resets = 0;
      // Resets while requests are in flight: pooled, checked-out and LISTEN connections all drop.
      while (submitted.submitting() && resets < 12) {
        await sleep(between(500, 1200));
        link.reset();
        resets++;
      }
      const stats = await submitted.done;
      t.diagnostic(`submitted: ${JSON.stringify(stats)}; resets: ${resets}`);
      await untilSettledOrDead(store, [api, worker]);
      const m = await measure(store, sandbox, COUNT);
      t.diagnostic(JSON.stringify(m));
      writeFigures(
        figuresOf(m, {
          scenario: 'connection-resets',
          engine: 'PostgreSQL',
          faults: `TCP reset of every database connection ×${resets}`,
          faultsInjected: resets,
          started,
          notes: [
            '1 API + 1 worker process through a TCP link; every open connection reset (RST) every 0.5–1.2 s while 16 creates were in flight',
            `client: ${stats.networkErrors} network errors, refusals ${JSON.stringify(stats.refusals)} (all retried)`,
          ],
        }),
      );
      assertAlive(api, 'API');
      assertAlive(worker, 'worker');
      assert.ok(resets >= 5, `resets happened under load (${resets})`);
      assert.equal(stats.refusals['500'] ?? 0, 0, 'no 500 (a lost connection is a 503)');
      assertNoneLostOrDuplicated(m, COUNT);
      assert.equal(m.arrived, COUNT);
    });
  });

  test('a stalled database: requests are answered 503, /readyz fails during the stall and recovers after; none lost', async (t) => {
    const started = Date.now();
    const STALL_MS = 6_000;
    await withLinkedService(async ({ url, link, sandbox, api, worker, load }, store) => {
      const submitted = load(COUNT, RATE);
      await until(async () => (await sandbox.messages()).length >= COUNT / 4, 120_000, 'a quarter sent', 250);
      link.stall();
      const stalledAt = Date.now();
      // Probe readiness through the stall: each probe must be answered, and fail.
      const probes: Array<{ status: number; ms: number }> = [];
      while (Date.now() - stalledAt < STALL_MS) {
        const t0 = Date.now();
        const res = await fetch(`${url}/readyz`);
        await res.body?.cancel();
        probes.push({ status: res.status, ms: Date.now() - t0 });
      }
      link.resume();
      const recoveredFrom = Date.now();
      await until(
        async () => (await fetch(`${url}/readyz`)).status === 200,
        60_000,
        '/readyz back to 200 after the stall',
        200,
      );
      const readyAfterMs = Date.now() - recoveredFrom;
      const stats = await submitted.done;
      t.diagnostic(`submitted: ${JSON.stringify(stats)}; probes: ${JSON.stringify(probes)}`);
      await untilSettledOrDead(store, [api, worker]);
      const m = await measure(store, sandbox, COUNT);
      t.diagnostic(JSON.stringify(m));
      const failedProbes = probes.filter((p) => p.status === 503);
      writeFigures(
        figuresOf(m, {
          scenario: 'database-stall',
          engine: 'PostgreSQL',
          faults: `link stalled ${STALL_MS / 1000} s ×1`,
          faultsInjected: 1,
          started,
          notes: [
            `bounds: connect ${BOUNDS.DATABASE_CONNECT_TIMEOUT_MS} ms, statement ${BOUNDS.DATABASE_STATEMENT_TIMEOUT_MS} ms, /readyz ${BOUNDS.READYZ_TIMEOUT_MS} ms`,
            `/readyz during the stall: ${failedProbes.length} of ${probes.length} probes 503, slowest answer ${Math.max(...probes.map((p) => p.ms))} ms; ready again ${readyAfterMs} ms after the link resumed`,
            `client: ${stats.networkErrors} network errors, refusals ${JSON.stringify(stats.refusals)} (all retried)`,
          ],
        }),
      );
      assertAlive(api, 'API');
      assertAlive(worker, 'worker');
      assert.ok(failedProbes.length > 0, '/readyz failed during the stall');
      assert.deepEqual(
        probes.filter((p) => p.status !== 503 && p.status !== 200),
        [],
        '/readyz answered 200 or 503, nothing else',
      );
      assert.equal(stats.networkErrors, 0, 'every request was answered (none hung until the client gave up)');
      assert.equal(stats.refusals['500'] ?? 0, 0, 'no 500 (a stalled database is a 503)');
      assertNoneLostOrDuplicated(m, COUNT);
      assert.equal(m.arrived, COUNT);
    });
  });
});
