import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tempDataDir } from '../test/process/cli.ts';
import { assertNoneLostOrDuplicated, figuresOf, measure, writeFigures } from './figures.ts';
import {
  backgroundLoad,
  between,
  type CliProcess,
  createStore,
  drainAndStop,
  FAST_ENV,
  runCli,
  seedUsers,
  settleEmbedded,
  sleep,
  startApiProcess,
  startEmbeddedServe,
  startSandbox,
  unsettled,
  until,
} from './harness.ts';

/**
 * kill -9 at random moments during a 5,000-notification run, then restart: every SMS arrives once.
 * On PostgreSQL the worker processes are killed (the API keeps accepting); embedded, the one process
 * that is API and worker is killed and the client retries its requests with the same
 * Idempotency-Key until the restarted process accepts them.
 */
const COUNT = 5_000;
const RATE = 150;
const MAX_KILLS = 12;
// A generous request timeout: this scenario measures kills, not timeouts (provider-faults.test.ts does).
const ENV: Record<string, string> = { ...FAST_ENV, SMS_REQUEST_TIMEOUT_MS: '5000' };

async function assertOnce(
  scenario: string,
  engine: string,
  kills: number,
  started: number,
  m: Awaited<ReturnType<typeof measure>>,
  notes: string[],
) {
  writeFigures(
    figuresOf(m, {
      scenario,
      engine,
      faults: `SIGKILL ×${kills}`,
      faultsInjected: kills,
      started,
      notes,
    }),
  );
  assertNoneLostOrDuplicated(m, COUNT);
  assert.equal(m.smsCreated, COUNT);
  assert.equal(m.arrived, COUNT);
}

describe('SIGKILL during a 5,000-notification run', { concurrency: false }, () => {
  test('PostgreSQL: worker processes killed at random and restarted; every SMS arrives once', async (t) => {
    const started = Date.now();
    const sandbox = await startSandbox();
    const store = await createStore('postgres');
    const procs: CliProcess[] = [];
    let load: ReturnType<typeof backgroundLoad> | undefined;
    try {
      await seedUsers(store, COUNT);
      const { url: apiUrl, env } = await startApiProcess(procs, {
        ...ENV,
        ...store.env,
        SMS_SANDBOX_URL: sandbox.url,
      });
      const workers: CliProcess[] = [];
      const startWorker = (slot: number) => {
        const w = runCli(['worker'], { ...env, WORKER_ID: `w${slot}-${Date.now()}` });
        procs.push(w);
        workers[slot] = w;
      };
      startWorker(0);
      startWorker(1);

      let kills = 0;
      const running = backgroundLoad(() => apiUrl, COUNT, RATE);
      load = running;
      // Kill while notifications are still coming in and a little after, at random moments.
      const killer = (async () => {
        while ((running.submitting() || kills < 6) && kills < MAX_KILLS) {
          await sleep(between(1000, 5000));
          const slot = between(0, 1);
          workers[slot]!.child.kill('SIGKILL');
          await workers[slot]!.exited(10_000);
          kills++;
          await sleep(between(0, 500));
          startWorker(slot);
        }
      })();
      // Together: a failed restart ends the scenario at once instead of waiting on the submission.
      const [stats] = await Promise.all([running.done, killer]);
      t.diagnostic(`submitted: ${JSON.stringify(stats)}; kills: ${kills}`);
      await until(async () => (await unsettled(store)) === 0, 180_000, 'every SMS delivery settled', 1000);
      // Late duplicates could only come from a send still in flight: stop the workers (they drain).
      await drainAndStop(workers);
      const m = await measure(store, sandbox, COUNT);
      t.diagnostic(JSON.stringify(m));
      await assertOnce('sigkill-postgres-workers', 'PostgreSQL', kills, started, m, [
        `2 worker processes, 1 API process; lease ${ENV['WORKER_LEASE_MS']} ms`,
        `client: ${stats.networkErrors} network errors, refusals ${JSON.stringify(stats.refusals)}`,
      ]);
    } finally {
      load?.stop();
      for (const p of procs) p.kill();
      await sandbox.stop();
      await store.drop();
    }
  });

  test('embedded (PGlite): the single serve process killed at random and restarted; every SMS arrives once', async (t) => {
    const started = Date.now();
    const data = tempDataDir();
    const sandbox = await startSandbox();
    const procs: CliProcess[] = [];
    let load: ReturnType<typeof backgroundLoad> | undefined;
    try {
      const store = await createStore('pglite', data.dir);
      await seedUsers(store, COUNT);
      const serve = await startEmbeddedServe(procs, { ...ENV, ...store.env, SMS_SANDBOX_URL: sandbox.url });

      let kills = 0;
      const running = backgroundLoad(() => serve.url, COUNT, RATE);
      load = running;
      const killer = (async () => {
        while ((running.submitting() || kills < 4) && kills < MAX_KILLS) {
          await sleep(between(2000, 8000));
          serve.current().child.kill('SIGKILL');
          await serve.current().exited(10_000);
          kills++;
          await serve.start();
        }
      })();
      const [stats] = await Promise.all([running.done, killer]);
      t.diagnostic(`submitted: ${JSON.stringify(stats)}; kills: ${kills}`);
      await settleEmbedded({
        store,
        sandbox,
        count: COUNT,
        serve: serve.current,
        restart: serve.start,
        timeoutMs: 240_000,
      });
      const m = await measure(store, sandbox, COUNT);
      t.diagnostic(JSON.stringify(m));
      await assertOnce('sigkill-embedded', 'PGlite', kills, started, m, [
        '1 serve process (API + worker), restarted on the same data directory',
        `client: ${stats.networkErrors} network errors, refusals ${JSON.stringify(stats.refusals)}`,
      ]);
    } finally {
      load?.stop();
      for (const p of procs) p.kill();
      await sandbox.stop();
      data.remove();
    }
  });
});
