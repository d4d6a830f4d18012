import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertNoneLostOrDuplicated, figuresOf, measure, writeFigures } from './figures.ts';
import {
  type CliProcess,
  createStore,
  FAST_ENV,
  runCli,
  seedUsers,
  startApiProcess,
  startSandbox,
  submitAll,
  unsettled,
  until,
} from './harness.ts';

/**
 * The provider misbehaves: 20 % of create requests answer 5xx, 10 % answer 429 and 5 % hang (the
 * message IS created, the answer never comes). Every SMS must end delivered within the retry budget
 * (4 attempts) or failed with a recorded reason; none lost, none sent twice.
 */
const COUNT = 2_000;

test('provider answering 20 % 5xx, 10 % 429 and hanging 5 %: none lost, none duplicated', async (t) => {
  const started = Date.now();
  const sandbox = await startSandbox();
  const store = await createStore('postgres');
  const procs: CliProcess[] = [];
  try {
    await sandbox.setFaults({ rate5xx: 0.2, rate429: 0.1, rateHang: 0.05, seed: 20_260_101 });
    await seedUsers(store, COUNT);
    const { url, env } = await startApiProcess(procs, {
      ...FAST_ENV,
      ...store.env,
      SMS_SANDBOX_URL: sandbox.url,
    });
    procs.push(runCli(['worker'], { ...env, WORKER_ID: 'faults-w1' }));

    const stats = await submitAll(() => url, COUNT, 300);
    t.diagnostic(`submitted: ${JSON.stringify(stats)}`);
    await until(async () => (await unsettled(store)) === 0, 240_000, 'every SMS delivery settled', 1000);
    const m = await measure(store, sandbox, COUNT);
    const sb = await sandbox.stats();
    t.diagnostic(JSON.stringify({ m, sandbox: sb }));
    const rejected = sb['rejected'] as Record<string, number>;
    const injected = Object.values(rejected).reduce((a, b) => a + b, 0) + Number(sb['hung']);
    writeFigures(
      figuresOf(m, {
        scenario: 'provider-faults',
        engine: 'PostgreSQL',
        faults: '20 % 5xx, 10 % 429, 5 % hang',
        faultsInjected: injected,
        started,
        notes: [
          `sandbox: ${JSON.stringify(rejected)} rejected, ${sb['hung']} hung, ${sb['created']} created`,
          `retry budget ${Number(FAST_ENV['SMS_RETRY_DELAY_MS'])} ms × 3 retries; request timeout ${FAST_ENV['SMS_REQUEST_TIMEOUT_MS']} ms`,
        ],
      }),
    );
    assertNoneLostOrDuplicated(m, COUNT);
    assert.equal(m.arrived + m.failedWithReason, COUNT, 'each SMS arrived or failed with a recorded reason');
  } finally {
    for (const p of procs) p.kill();
    await sandbox.stop();
    await store.drop();
  }
});
