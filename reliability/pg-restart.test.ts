import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { assertNoneLostOrDuplicated, figuresOf, measure, writeFigures } from './figures.ts';
import {
  backgroundLoad,
  type CliProcess,
  createStore,
  drainAndStop,
  FAST_ENV,
  runCli,
  seedUsers,
  startApiProcess,
  startSandbox,
  unsettled,
  until,
} from './harness.ts';

/**
 * PostgreSQL restarted in the middle of a run (this affects everything on the machine that uses
 * it, so it runs once). The API and worker processes must reconnect by themselves; the client
 * retries what was refused while the database was away; nothing is lost or sent twice.
 */
const COUNT = 3_000;

function pgIsReady(): boolean {
  try {
    execFileSync('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']);
    return true;
  } catch {
    return false;
  }
}

async function restartPostgres(): Promise<number> {
  const version = readdirSync('/etc/postgresql')[0]!;
  const t0 = Date.now();
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], {
    stdio: 'inherit',
  });
  await until(async () => pgIsReady(), 60_000, 'PostgreSQL accepting connections again', 200);
  return Date.now() - t0;
}

test('PostgreSQL restarted mid-run: the service reconnects by itself, no loss, no duplicate', {
  skip: readdirSync('/etc/postgresql', { withFileTypes: true }).length === 0 ? 'no local cluster' : false,
}, async (t) => {
  const started = Date.now();
  const sandbox = await startSandbox();
  const store = await createStore('postgres');
  const procs: CliProcess[] = [];
  let load: ReturnType<typeof backgroundLoad> | undefined;
  try {
    await seedUsers(store, COUNT);
    const { api, url, env } = await startApiProcess(procs, {
      ...FAST_ENV,
      ...store.env,
      SMS_SANDBOX_URL: sandbox.url,
      SMS_REQUEST_TIMEOUT_MS: '5000',
    });
    const worker = runCli(['worker'], { ...env, WORKER_ID: 'pg-restart-w1' });
    procs.push(worker);

    load = backgroundLoad(() => url, COUNT, 200);
    // Restart once the run is well under way.
    await until(async () => (await sandbox.messages()).length >= COUNT / 4, 120_000, 'a quarter sent', 250);
    const downMs = await restartPostgres();
    t.diagnostic(`PostgreSQL restarted in ${downMs} ms`);
    const stats = await load.done;
    t.diagnostic(`submitted: ${JSON.stringify(stats)}`);
    await until(async () => (await unsettled(store)) === 0, 180_000, 'every SMS delivery settled', 1000);
    assert.equal(api.child.exitCode, null, `the API process stayed up\n${api.stderr()}`);
    assert.equal(worker.child.exitCode, null, `the worker process stayed up\n${worker.stderr()}`);
    // Late duplicates could only come from a send still in flight: stop the worker (it drains).
    await drainAndStop([worker]);
    const m = await measure(store, sandbox, COUNT);
    t.diagnostic(JSON.stringify(m));
    const ready = await fetch(`${url}/readyz`);
    writeFigures(
      figuresOf(m, {
        scenario: 'postgres-restart',
        engine: 'PostgreSQL',
        faults: `PostgreSQL restart ×1 (${(downMs / 1000).toFixed(1)} s)`,
        faultsInjected: 1,
        started,
        notes: [
          `client: ${stats.networkErrors} network errors, refusals ${JSON.stringify(stats.refusals)} (all retried)`,
        ],
      }),
    );
    assert.equal(ready.status, 200, 'the API is ready again without a restart');
    assertNoneLostOrDuplicated(m, COUNT);
    assert.equal(m.arrived, COUNT);
    assert.equal(stats.refusals['500'] ?? 0, 0, 'no 500 while the database was away (503 expected)');
  } finally {
    load?.stop();
    for (const p of procs) p.kill();
    await sandbox.stop();
    await until(async () => pgIsReady(), 60_000, 'PostgreSQL back before the suite ends', 500);
    await store.drop();
  }
});
