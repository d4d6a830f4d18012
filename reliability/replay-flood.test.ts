import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import twilio from 'twilio';
import { queryRows } from '../src/db/database.ts';
import { assertNoneLostOrDuplicated, figuresOf, measure, writeFigures } from './figures.ts';
import {
  backgroundLoad,
  type CliProcess,
  createStore,
  FAST_ENV,
  runCli,
  SID,
  type Store,
  seedUsers,
  startApiProcess,
  startSandbox,
  submitAll,
  TOKEN,
  unsettled,
  until,
} from './harness.ts';

/**
 * A genuine, validly signed status callback captured and replayed thousands of times (Twilio signs
 * no timestamp, so a signature alone cannot tell a replay). Each replay is answered and adds nothing
 * to the delivery's history; the service keeps sending the notifications submitted meanwhile.
 */
const WARM_UP = 100;
const COUNT = 1_000;
const REPLAYS = 5_000;
const REPLAY_CONCURRENCY = 32;

async function historyRows(store: Store, sid: string): Promise<number> {
  const database = await store.open();
  try {
    const [r] = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from delivery_status_history h
          join deliveries d on d.id = h.delivery_id where d.provider_message_id = ${sid}`,
    );
    return r!.n;
  } finally {
    await database.close();
  }
}

test('a signed status callback replayed 5,000 times: history does not grow, the service keeps sending', async (t) => {
  const started = Date.now();
  const sandbox = await startSandbox();
  const store = await createStore('postgres');
  const procs: CliProcess[] = [];
  let load: ReturnType<typeof backgroundLoad> | undefined;
  try {
    await seedUsers(store, COUNT);
    const { url, env } = await startApiProcess(procs, {
      ...FAST_ENV,
      ...store.env,
      SMS_SANDBOX_URL: sandbox.url,
    });
    procs.push(runCli(['worker'], { ...env, WORKER_ID: 'replay-w1' }));

    // A first batch settles completely, so no genuine callback for its messages is still on its way.
    const warmUp = await submitAll(() => url, WARM_UP, 200);
    await until(async () => (await unsettled(store)) === 0, 60_000, 'the first batch settled', 250);
    await until(
      async () => {
        const s = await sandbox.stats();
        return Number(s['pendingSteps']) === 0 && Number(s['callbacksInFlight']) === 0;
      },
      60_000,
      'the first batch has no callback pending',
      250,
    );
    const target = (await sandbox.messages()).find((m) => m.status === 'delivered');
    assert.ok(target, 'a delivered message to replay the report of');
    const { status_callback: callbackUrl, from } = target as typeof target & {
      status_callback: string;
      from: string | null;
    };
    // What the sandbox (as Twilio) posted when the message was delivered.
    const params = {
      AccountSid: SID,
      ApiVersion: '2010-04-01',
      From: from ?? '',
      MessageSid: target.sid,
      MessageStatus: 'delivered',
      SmsSid: target.sid,
      SmsStatus: 'delivered',
      To: target.to,
    };
    const body = new URLSearchParams(params).toString();
    const signature = twilio.getExpectedTwilioSignature(TOKEN, callbackUrl, params);
    const before = await historyRows(store, target.sid);

    // The flood, while a second batch is submitted and sent.
    load = backgroundLoad(() => url, COUNT, 100, { concurrency: 16, first: WARM_UP });
    const answers: Record<string, number> = {};
    const latencies: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: REPLAY_CONCURRENCY }, async () => {
        while (next++ < REPLAYS) {
          const t0 = Date.now();
          const res = await fetch(callbackUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
            body,
          });
          await res.body?.cancel();
          latencies.push(Date.now() - t0);
          answers[res.status] = (answers[res.status] ?? 0) + 1;
        }
      }),
    );
    const stats = await load.done;
    const after = await historyRows(store, target.sid);
    t.diagnostic(`replays answered ${JSON.stringify(answers)}; history ${before} → ${after}`);
    await until(async () => (await unsettled(store)) === 0, 180_000, 'every SMS delivery settled', 1000);
    const m = await measure(store, sandbox, COUNT);
    t.diagnostic(JSON.stringify(m));
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)];
    writeFigures(
      figuresOf(m, {
        scenario: 'replay-flood',
        engine: 'PostgreSQL',
        faults: `1 signed callback replayed ×${REPLAYS}`,
        faultsInjected: REPLAYS,
        started,
        notes: [
          `replays answered ${JSON.stringify(answers)} (${REPLAY_CONCURRENCY} at a time; p99 ${p99} ms, max ${latencies.at(-1)} ms); the delivery's history rows ${before} → ${after}`,
          `${COUNT - WARM_UP} notifications submitted during the flood; client: ${stats.networkErrors + warmUp.networkErrors} network errors, refusals ${JSON.stringify(stats.refusals)} (all retried)`,
        ],
      }),
    );
    assert.equal(after, before, 'a replayed callback adds no history row');
    assert.deepEqual(Object.keys(answers), ['200'], 'every replay answered 200 (already recorded)');
    assertNoneLostOrDuplicated(m, COUNT);
    assert.equal(m.arrived, COUNT);
  } finally {
    load?.stop();
    for (const p of procs) p.kill();
    await sandbox.stop();
    await store.drop();
  }
});
