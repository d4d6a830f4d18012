import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fillDisk, mountTmpfs } from '../test/helpers/tmpfs.ts';
import { assertNoneLostOrDuplicated, figuresOf, measure, writeFigures } from './figures.ts';
import {
  backgroundLoad,
  type CliProcess,
  createStore,
  drainAndStop,
  FAST_ENV,
  seedUsers,
  settleEmbedded,
  sleep,
  startEmbeddedServe,
  startSandbox,
  until,
} from './harness.ts';

/**
 * The embedded engine's disk fills up mid-run (DATA_DIR on a tmpfs the test fills to the last
 * byte), then space returns. While full, writes answer 503 STORAGE_FULL (retried by the client) and
 * /readyz fails with STORAGE_FULL; once space is back both recover without a restart, and every SMS
 * arrives once.
 */
const COUNT = 1_000;
const RATE = 100;
const FULL_MS = 5_000;
const mount = mountTmpfs('256m');

test('embedded disk full mid-run: 503 STORAGE_FULL and /readyz failing while full, recovery after, none lost', {
  skip: mount ? false : 'needs a tmpfs mount (root on Linux)',
}, async (t) => {
  const started = Date.now();
  const sandbox = await startSandbox();
  const filler = join(mount!.dir, 'filler');
  const procs: CliProcess[] = [];
  let load: ReturnType<typeof backgroundLoad> | undefined;
  try {
    const store = await createStore('pglite', join(mount!.dir, 'data'));
    await seedUsers(store, COUNT);
    const serve = await startEmbeddedServe(procs, {
      ...FAST_ENV,
      ...store.env,
      SMS_SANDBOX_URL: sandbox.url,
      SMS_REQUEST_TIMEOUT_MS: '5000',
    });
    const url = serve.url;

    load = backgroundLoad(() => url, COUNT, RATE, { concurrency: 16 });
    await until(async () => (await sandbox.messages()).length >= COUNT / 4, 120_000, 'a quarter sent', 250);
    fillDisk(filler);
    const filledAt = Date.now();
    const probes: Record<string, number> = {};
    while (Date.now() - filledAt < FULL_MS) {
      const res = await fetch(`${url}/readyz`);
      const body = (await res.json()) as { code?: string };
      const key = `${res.status}${body.code ? ` ${body.code}` : ''}`;
      probes[key] = (probes[key] ?? 0) + 1;
      await sleep(100);
    }
    rmSync(filler);
    await until(
      async () => (await fetch(`${url}/readyz`)).status === 200,
      30_000,
      'ready once space is back',
      200,
    );
    const stats = await load.done;
    t.diagnostic(`submitted: ${JSON.stringify(stats)}; /readyz while full: ${JSON.stringify(probes)}`);
    await settleEmbedded({
      store,
      sandbox,
      count: COUNT,
      serve: serve.current,
      restart: serve.start,
      timeoutMs: 180_000,
    }).catch(
      (err) => t.diagnostic(String(err)), // measured below either way: the figures say what is missing
    );
    await drainAndStop([serve.current()]);
    const m = await measure(store, sandbox, COUNT);
    t.diagnostic(JSON.stringify(m));
    writeFigures(
      figuresOf(m, {
        scenario: 'disk-full',
        engine: 'PGlite',
        faults: `DATA_DIR's disk full ${FULL_MS / 1000} s ×1`,
        faultsInjected: 1,
        started,
        notes: [
          '1 serve process (API + worker); DATA_DIR on a 256 MiB tmpfs filled to the last byte, then freed',
          `/readyz while full: ${JSON.stringify(probes)}`,
          `client: ${stats.networkErrors} network errors, refusals ${JSON.stringify(stats.refusals)} (all retried)`,
        ],
      }),
    );
    assert.ok((probes['503 STORAGE_FULL'] ?? 0) > 0, '/readyz reported STORAGE_FULL while the disk was full');
    assert.equal(stats.refusals['500'] ?? 0, 0, 'no 500 (a full disk is a 503 STORAGE_FULL)');
    assertNoneLostOrDuplicated(m, COUNT);
    assert.equal(m.arrived, COUNT);
  } finally {
    load?.stop();
    for (const p of procs) p.kill();
    await sandbox.stop();
    mount?.remove();
  }
});
