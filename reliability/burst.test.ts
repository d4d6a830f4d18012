import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows } from '../src/db/database.ts';
import { assertNoneLostOrDuplicated, figuresOf, measure, writeFigures } from './figures.ts';
import {
  type CliProcess,
  createStore,
  FAST_ENV,
  notificationBody,
  post,
  type Reply,
  rssMb,
  runCli,
  seedUsers,
  sleep,
  startApiProcess,
  startSandbox,
  unsettled,
  until,
} from './harness.ts';

/**
 * A burst: 20,000 notifications offered in 10 s (open loop: requests go out on schedule whatever the
 * answers). Each is accepted (201) or refused with 429/503 and Retry-After — never a 500, never an
 * unanswered request — memory stays bounded, and the accepted backlog drains afterwards.
 */
const OFFERED = Number(process.env['RELIABILITY_BURST'] ?? 20_000);
const SECONDS = 10;
const RSS_LIMIT_MB = 600;

test(`a burst of ${OFFERED} notifications in ${SECONDS} s: accepted or refused with Retry-After, then drained`, async (t) => {
  const started = Date.now();
  const sandbox = await startSandbox();
  const store = await createStore('postgres');
  const procs: CliProcess[] = [];
  try {
    await seedUsers(store, OFFERED);
    // The default per-key limit: the burst is 2,000/s from one key, well over 6,000 a minute.
    const { api, url, env } = await startApiProcess(
      procs,
      { ...FAST_ENV, ...store.env, SMS_SANDBOX_URL: sandbox.url },
      { RATE_LIMIT_PER_MINUTE: '6000' },
    );
    const worker = runCli(['worker'], { ...env, WORKER_ID: 'burst-w1' });
    procs.push(worker);

    const peak = { api: 0, worker: 0 };
    const sampler = setInterval(() => {
      peak.api = Math.max(peak.api, rssMb(api.child.pid!));
      peak.worker = Math.max(peak.worker, rssMb(worker.child.pid!));
    }, 250);

    const replies: Array<Reply | Error> = new Array(OFFERED);
    const inFlight: Promise<void>[] = [];
    const t0 = Date.now();
    for (let i = 0; i < OFFERED; i++) {
      const due = t0 + (i / OFFERED) * SECONDS * 1000;
      if (due > Date.now() + 5) await sleep(due - Date.now());
      inFlight.push(
        post(url, '/api/v1/notifications', notificationBody(i), { 'idempotency-key': `burst-${i}` }).then(
          (r) => {
            replies[i] = r;
          },
          (err: Error) => {
            replies[i] = err;
          },
        ),
      );
    }
    const offeredIn = (Date.now() - t0) / 1000;
    await Promise.all(inFlight);
    const answeredIn = (Date.now() - t0) / 1000;

    const byStatus: Record<string, number> = {};
    const accepted: number[] = [];
    let refusedWithoutRetryAfter = 0;
    for (const [i, r] of replies.entries()) {
      const key = r instanceof Error ? `error: ${r.message}` : String(r.status);
      byStatus[key] = (byStatus[key] ?? 0) + 1;
      if (!(r instanceof Error) && (r.status === 201 || r.status === 200)) accepted.push(i);
      if (!(r instanceof Error) && (r.status === 429 || r.status === 503) && !r.retryAfter)
        refusedWithoutRetryAfter++;
    }
    t.diagnostic(
      `offered in ${offeredIn.toFixed(1)} s, answered in ${answeredIn.toFixed(1)} s: ${JSON.stringify(byStatus)}`,
    );

    await until(async () => (await unsettled(store)) === 0, 300_000, 'the backlog drained', 1000);
    const drainedIn = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const m = await measure(store, sandbox, accepted.length);
    const database = await store.open();
    const [created] = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from notifications`,
    );
    await database.close();
    t.diagnostic(JSON.stringify({ m, peak, sandbox: await sandbox.stats() }));
    writeFigures(
      figuresOf(m, {
        scenario: 'burst',
        engine: 'PostgreSQL',
        faults: `${OFFERED} requests in ${SECONDS} s`,
        faultsInjected: OFFERED - accepted.length,
        started,
        notes: [
          `answers: ${JSON.stringify(byStatus)}; offered in ${offeredIn.toFixed(1)} s, all answered after ${answeredIn.toFixed(1)} s, backlog drained after ${drainedIn.toFixed(1)} s`,
          `peak RSS: API ${peak.api} MB, worker ${peak.worker} MB`,
          'faults injected = requests refused (429/503)',
        ],
      }),
    );
    assert.equal(
      Object.keys(byStatus).filter((k) => k.startsWith('error')).length,
      0,
      'every request was answered',
    );
    assert.equal(byStatus['500'] ?? 0, 0, 'no 500');
    const other = Object.keys(byStatus).filter((k) => !['200', '201', '429', '503'].includes(k));
    assert.deepEqual(other, [], 'only accepted, 429 or 503');
    assert.equal(refusedWithoutRetryAfter, 0, 'every refusal carries Retry-After');
    assert.equal(created!.n, accepted.length, 'exactly the accepted notifications were created');
    assertNoneLostOrDuplicated(m, accepted.length);
    assert.ok(peak.api < RSS_LIMIT_MB && peak.worker < RSS_LIMIT_MB, `memory: ${JSON.stringify(peak)}`);
  } finally {
    for (const p of procs) p.kill();
    await sandbox.stop();
    await store.drop();
  }
});
