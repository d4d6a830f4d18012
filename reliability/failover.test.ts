import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows } from '../src/db/database.ts';
import { assertNoneLostOrDuplicated, figuresOf, measure, writeFigures } from './figures.ts';
import {
  type CliProcess,
  createStore,
  FAST_ENV,
  runCli,
  type Sandbox,
  type Store,
  seedUsers,
  startApiProcess,
  startSandbox,
  submitAll,
  unsettled,
  until,
} from './harness.ts';

/**
 * Two providers, Twilio first for India (the harness's phones): with both healthy Twilio carries
 * everything; then Twilio's side of the sandbox answers every create 5xx, then hangs on every one
 * (the message IS created), then answers 429 to every one, then is healthy again, while
 * notifications keep coming. Vonage stays healthy throughout. Each SMS
 * arrives once, at one provider or the other, or fails with a reason; none arrives and is recorded
 * failed. Per phase the figures say which provider carried what, how soon Vonage took over and
 * whether Twilio got the traffic back once it recovered (reported, not asserted: timing).
 *
 * A phase is its count of notifications submitted at RATE/s, then every delivery of it settled before
 * the next fault is set, so each notification met exactly one phase's faults.
 */
const PER_PHASE = 300;
const RATE = 30;

// The first phase also warms the worker up, so the 5xx phase's failover time is not its start-up.
const PHASES = [
  { name: 'before', count: 100, faults: {} },
  { name: '5xx', count: PER_PHASE, faults: { provider: 'twilio', rate5xx: 1 } },
  { name: 'hang', count: PER_PHASE, faults: { provider: 'twilio', rateHang: 1 } },
  { name: '429', count: PER_PHASE, faults: { provider: 'twilio', rate429: 1 } },
  { name: 'recovered', count: PER_PHASE, faults: {} },
] as const;
const COUNT = PHASES.reduce((n, p) => n + p.count, 0);

/**
 * Priority, Twilio first: Twilio carries everything while it is healthy. Health reacts within the
 * scenario: a 10 s window (the default 15 min would keep the faults' failures against Twilio long
 * after it recovered) and probes after 2 s, doubling to 4 s (above the 1 s request timeout, so a
 * timed-out request's outcome cannot be taken for the probe's; rotation.ts).
 */
const ROUTING = {
  routes: {
    IN: {
      strategy: 'priority',
      providers: [
        { name: 'twilio', weight: 100, perSegment: 0.0832, currency: 'USD' },
        { name: 'vonage', weight: 0, perSegment: 0.0455, currency: 'USD' },
      ],
    },
    default: {
      strategy: 'priority',
      providers: [
        { name: 'twilio', weight: 100, perSegment: 0.1, currency: 'USD' },
        { name: 'vonage', weight: 0, perSegment: 0.1, currency: 'USD' },
      ],
    },
  },
  health: { windowMs: 10_000, probeBackoffMs: 2_000, probeBackoffMaxMs: 4_000, probeTimeoutMs: 5_000 },
};

interface PhaseRun {
  name: string;
  first: number;
  count: number;
  startedAt: number;
  endedAt: number;
  /** The sandbox's Twilio-side refusals and hangs during the phase. */
  twilioFaults: Record<string, number>;
}

test('Twilio fails (5xx, then hangs, then 429s) and recovers: Vonage takes over, none lost, none twice', async (t) => {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'lcn-failover-'));
  const routingFile = join(dir, 'routing.json');
  writeFileSync(routingFile, JSON.stringify(ROUTING));
  const sandbox = await startSandbox();
  const store = await createStore('postgres');
  const procs: CliProcess[] = [];
  try {
    await seedUsers(store, COUNT);
    const { url, env } = await startApiProcess(procs, {
      ...FAST_ENV,
      ...store.env,
      SMS_SANDBOX_URL: sandbox.url,
      SMS_PROVIDERS: 'twilio,vonage',
      SMS_ROUTING_FILE: routingFile,
    });
    // One worker: health is per process, so one router sees every answer and the phases read plainly.
    procs.push(runCli(['worker'], { ...env, WORKER_ID: 'failover-w1' }));

    const runs: PhaseRun[] = [];
    let first = 0;
    for (const [p, phase] of PHASES.entries()) {
      const before = twilioFaultCounts(await sandbox.stats());
      await sandbox.setFaults({ ...phase.faults, seed: 20_261_203 + p });
      const startedAt = Date.now();
      const stats = await submitAll(() => url, first + phase.count, RATE, { first });
      await until(
        async () => (await unsettled(store)) === 0,
        120_000,
        `every SMS delivery of phase ${phase.name} settled`,
        250,
      );
      const after = twilioFaultCounts(await sandbox.stats());
      const twilioFaults = Object.fromEntries(
        Object.entries(after)
          .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
          .filter(([, v]) => v > 0),
      );
      runs.push({
        name: phase.name,
        first,
        count: phase.count,
        startedAt,
        endedAt: Date.now(),
        twilioFaults,
      });
      first += phase.count;
      t.diagnostic(
        `phase ${phase.name}: submitted ${JSON.stringify(stats)}, Twilio ${JSON.stringify(twilioFaults)}`,
      );
    }
    await sandbox.setFaults({});

    const m = await measure(store, sandbox, COUNT);
    const phases = await phaseFigures(store, sandbox, runs);
    t.diagnostic(JSON.stringify({ m, phases }));
    const injected = phases.reduce(
      (n, ph) => n + Object.values(ph.twilioFaults).reduce((a, b) => a + b, 0),
      0,
    );
    writeFigures(
      figuresOf(m, {
        scenario: 'failover',
        engine: 'PostgreSQL',
        faults: 'Twilio: 100 % 5xx, then 100 % hang, then 100 % 429, then healthy (Vonage healthy)',
        faultsInjected: injected,
        started,
        notes: [
          `${PHASES.map((p) => `${p.name} ${p.count}`).join(', ')} notifications at ${RATE}/s, each phase settled before the next; route IN priority twilio → vonage; health ${JSON.stringify(ROUTING.health)}`,
          ...phases.map(describePhase),
        ],
      }),
    );
    assertNoneLostOrDuplicated(m, COUNT);
    assert.equal(m.arrived + m.failedWithReason, COUNT, 'each SMS arrived or failed with a recorded reason');
    // Priority, Twilio first and healthy: it carries all of it.
    assert.deepEqual(
      phases[0]!.sentBy,
      { twilio: PHASES[0].count },
      'both healthy: everything through Twilio',
    );
    // Twilio creates nothing while it answers 5xx or 429: whatever of those phases was sent, Vonage sent.
    for (const ph of phases.filter((x) => x.name === '5xx' || x.name === '429')) {
      assert.equal(ph.sentBy['twilio'] ?? 0, 0, `phase ${ph.name}: nothing sent through Twilio`);
    }
  } finally {
    for (const p of procs) p.kill();
    await sandbox.setFaults({}).catch(() => {});
    await sandbox.stop();
    await store.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Twilio's refusals by error code (20500, 20503, 20429) and its hung creates. */
function twilioFaultCounts(stats: Record<string, unknown>): Record<string, number> {
  const rejected = stats['rejected'] as Record<string, number>;
  const twilio = Object.entries(rejected).filter(([code]) => !code.startsWith('vonage'));
  return { ...Object.fromEntries(twilio), hung: Number(stats['hung']) };
}

/**
 * What each phase's deliveries came to: who sent them (metadata.sms.provider), and from their
 * history's `via <provider> (<reason>)` rows when Vonage first sent, when the router first sent
 * straight to Vonage because Twilio was out of rotation or unhealthy, and (recovery) when Twilio
 * sent again and from when on it sent everything.
 */
async function phaseFigures(store: Store, sandbox: Sandbox, runs: PhaseRun[]) {
  const database = await store.open();
  try {
    const deliveries = await queryRows<{ i: number; status: string; provider: string | null }>(
      database.db,
      sql`select substr(u.external_id, 5)::int as i, d.status, d.metadata->'sms'->>'provider' as provider
          from deliveries d join notifications n on n.id = d.notification_id join users u on u.id = n.user_id
          where d.channel = 'sms'`,
    );
    const sends = await queryRows<{ i: number; at: string; detail: string }>(
      database.db,
      sql`select substr(u.external_id, 5)::int as i, h.created_at as at, h.detail
          from delivery_status_history h join deliveries d on d.id = h.delivery_id
          join notifications n on n.id = d.notification_id join users u on u.id = n.user_id
          where d.channel = 'sms' and h.detail like 'via %'
          order by h.created_at, h.id`,
    );
    const messages = await sandbox.messages();
    return runs.map((run) => {
      const mine = (i: number) => i >= run.first && i < run.first + run.count;
      const sentBy: Record<string, number> = {};
      const statuses: Record<string, number> = {};
      for (const d of deliveries.filter((x) => mine(x.i))) {
        statuses[d.status] = (statuses[d.status] ?? 0) + 1;
        if (d.status !== 'failed') sentBy[d.provider ?? 'none'] = (sentBy[d.provider ?? 'none'] ?? 0) + 1;
      }
      // Arrivals during the phase, by the provider the sandbox took each at.
      const arrivedAt: Record<string, number> = {};
      for (const msg of messages) {
        const at = Date.parse(msg.date_created);
        if (at >= run.startedAt && at <= run.endedAt)
          arrivedAt[msg.provider] = (arrivedAt[msg.provider] ?? 0) + 1;
      }
      const rows = sends.filter((s) => mine(s.i));
      const since = (row: { at: string } | undefined) =>
        row ? `${((Date.parse(row.at) - run.startedAt) / 1000).toFixed(1)} s` : 'never';
      const via = (provider: string) => (s: { detail: string }) => s.detail.startsWith(`via ${provider} `);
      const straightToVonage = rows.find(
        (s) => via('vonage')(s) && /twilio (out of rotation|unhealthy)/.test(s.detail.split(';')[0]!),
      );
      // Recovery: Twilio back, then passed over again while its window still holds the outage's failures.
      const back = rows.findIndex(via('twilio'));
      const awayAgain =
        back === -1 ? undefined : rows.slice(back).find((s) => s.detail.includes('twilio unhealthy'));
      const probes = rows.filter((s) => s.detail.includes('probe of twilio')).length;
      // Recovery: from which send on Twilio sent every SMS of the phase.
      const lastVonage = rows.findLastIndex(via('vonage'));
      const allTwilioFrom = lastVonage + 1 < rows.length ? rows[lastVonage + 1] : undefined;
      return {
        name: run.name,
        seconds: Math.round((run.endedAt - run.startedAt) / 100) / 10,
        twilioFaults: run.twilioFaults,
        sentBy,
        statuses,
        arrivedAt,
        probes,
        firstVonage: since(rows.find(via('vonage'))),
        straightToVonage: since(straightToVonage),
        firstTwilio: since(rows[back]),
        unhealthyAgain: since(awayAgain),
        allTwilioFrom: since(allTwilioFrom),
      };
    });
  } finally {
    await database.close();
  }
}

function describePhase(ph: Awaited<ReturnType<typeof phaseFigures>>[number]): string {
  const sent = `sent by ${JSON.stringify(ph.sentBy)} (statuses ${JSON.stringify(ph.statuses)}; arrivals at the sandbox during it ${JSON.stringify(ph.arrivedAt)})`;
  const twilio = `Twilio refused/hung ${JSON.stringify(ph.twilioFaults)}, ${ph.probes} SMS sent by a Twilio probe`;
  const times =
    ph.name === 'before' || ph.name === 'recovered'
      ? `first SMS through Twilio ${ph.firstTwilio} into the phase, passed over again as unhealthy ${ph.unhealthyAgain}, all through Twilio from ${ph.allTwilioFrom}; first through Vonage ${ph.firstVonage}`
      : `first SMS through Vonage ${ph.firstVonage} after the fault started, first routed straight to Vonage (Twilio out of rotation/unhealthy) ${ph.straightToVonage}`;
  return `phase ${ph.name} (${ph.seconds} s): ${sent}; ${twilio}; ${times}`;
}
