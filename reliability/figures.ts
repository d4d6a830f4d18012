/**
 * What each fault scenario measures (the database's notifications against the sandbox's arrivals,
 * per notification) and the figures row it writes for scripts/run-reliability.ts to print.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { queryRows } from '../src/db/database.ts';
import { orderOf, phoneOf, type Sandbox, type Store, untilDrained } from './harness.ts';

const RESULTS_DIR = process.env['RELIABILITY_RESULTS_DIR'] ?? join(tmpdir(), 'lcn-reliability-results');

export interface Figures {
  scenario: string;
  engine: string;
  faults: string;
  faultsInjected: number;
  notifications: number;
  smsCreated: number;
  arrived: number;
  duplicated: number;
  lost: number;
  failedWithReason: number;
  /** Deliveries recorded `failed` whose text did reach the sandbox: the user got it, the record says not. Must be 0. */
  arrivedButFailed: number;
  recoveredByReconciliation: number;
  seconds: number;
  smsStatuses: Record<string, number>;
  notes: string[];
}

/** Compare what the database created with what the sandbox received, per notification. */
export async function measure(store: Store, sandbox: Sandbox, count: number) {
  // Statuses are counted once the sandbox has sent every status callback it owes: counted while
  // callbacks are still in flight, `sent` would stand for "not reported yet", not "report lost".
  await untilDrained(
    async () => {
      const s = await sandbox.stats();
      return Number(s['pendingSteps']) + Number(s['callbacksInFlight']);
    },
    60_000,
    'status callbacks owed by the sandbox',
  );
  const database = await store.open();
  try {
    const [n] = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from notifications`,
    );
    const deliveries = await queryRows<{
      external_id: string;
      status: string;
      error_code: string | null;
      reconciled: boolean | null;
      lease_expired: boolean;
      timed_out: boolean;
    }>(
      database.db,
      sql`select u.external_id, d.status, d.error_code, (d.details->>'reconciled')::boolean as reconciled,
                 exists (select 1 from delivery_status_history h where h.delivery_id = d.id
                         and h.detail like 'lease expired%') as lease_expired,
                 exists (select 1 from delivery_status_history h where h.delivery_id = d.id
                         and (h.error_code in ('TIMEOUT', 'NETWORK') or h.detail like '%timed out%')) as timed_out
          from deliveries d join notifications n on n.id = d.notification_id join users u on u.id = n.user_id
          where d.channel = 'sms'`,
    );
    // Every provider's arrivals: an SMS sent once at Twilio and again at Vonage is a duplicate.
    const received = new Map<string, number>();
    for (const m of await sandbox.messages()) {
      const order = /Order #(R\d+) /.exec(m.body)?.[1];
      if (order) received.set(`${m.to} ${order}`, (received.get(`${m.to} ${order}`) ?? 0) + 1);
    }
    const statuses: Record<string, number> = {};
    let arrived = 0;
    let duplicated = 0;
    let lost = 0;
    let failedWithReason = 0;
    let arrivedButFailed = 0;
    const arrivedButFailedIds: string[] = [];
    const lostIds: string[] = [];
    // Why a duplicate happened, from the delivery's own history.
    const duplicateCauses: Record<string, number> = {};
    for (const d of deliveries) {
      statuses[d.status] = (statuses[d.status] ?? 0) + 1;
      const i = Number(d.external_id.slice(4));
      const got = received.get(`${phoneOf(i)} ${orderOf(i)}`) ?? 0;
      if (got > 0) arrived++;
      duplicated += Math.max(0, got - 1);
      if (got > 1) {
        const cause = [
          d.timed_out ? 'request timed out, resent' : '',
          d.lease_expired
            ? d.reconciled
              ? 'lease expired, reconciled'
              : 'lease expired, not found by reconciliation'
            : '',
        ]
          .filter(Boolean)
          .join(' + ');
        duplicateCauses[cause || 'other'] = (duplicateCauses[cause || 'other'] ?? 0) + got - 1;
      }
      if (got > 0 && d.status === 'failed') {
        arrivedButFailed++;
        arrivedButFailedIds.push(`${d.external_id}:${d.error_code}`);
      }
      if (got === 0 && d.status === 'failed' && d.error_code) failedWithReason++;
      else if (got === 0) {
        lost++;
        lostIds.push(`${d.external_id}:${d.status}`);
      }
    }
    const missingNotifications = count - n!.n;
    return {
      notifications: n!.n,
      smsCreated: deliveries.length,
      arrived,
      duplicated,
      lost: lost + Math.max(0, missingNotifications),
      failedWithReason,
      arrivedButFailed,
      recoveredByReconciliation: deliveries.filter((d) => d.reconciled === true).length,
      smsStatuses: statuses,
      duplicateCauses,
      lostIds: lostIds.slice(0, 20),
      arrivedButFailedIds: arrivedButFailedIds.slice(0, 20),
    };
  } finally {
    await database.close();
  }
}

/** The figures row of a measured scenario: what it did (`run`) and what measure() found. */
export function figuresOf(
  m: Awaited<ReturnType<typeof measure>>,
  run: Pick<Figures, 'scenario' | 'engine' | 'faults' | 'faultsInjected' | 'notes'> & { started: number },
): Figures {
  return {
    scenario: run.scenario,
    engine: run.engine,
    faults: run.faults,
    faultsInjected: run.faultsInjected,
    notifications: m.notifications,
    smsCreated: m.smsCreated,
    arrived: m.arrived,
    duplicated: m.duplicated,
    lost: m.lost,
    failedWithReason: m.failedWithReason,
    arrivedButFailed: m.arrivedButFailed,
    recoveredByReconciliation: m.recoveredByReconciliation,
    seconds: Math.round((Date.now() - run.started) / 1000),
    smsStatuses: m.smsStatuses,
    notes: [
      ...run.notes,
      `duplicate causes: ${JSON.stringify(m.duplicateCauses)}`,
      ...(m.arrivedButFailed > 0
        ? [`arrived but recorded failed (user:error code): ${m.arrivedButFailedIds.join(', ')}`]
        : []),
    ],
  };
}

/** What every scenario promises of its measured figures. */
export function assertNoneLostOrDuplicated(m: Awaited<ReturnType<typeof measure>>, count: number): void {
  assert.equal(m.notifications, count, 'every accepted request created exactly one notification');
  assert.equal(m.lost, 0, `lost: ${m.lostIds.join(', ')}`);
  assert.equal(m.duplicated, 0, `duplicates by cause: ${JSON.stringify(m.duplicateCauses)}`);
  assert.equal(m.arrivedButFailed, 0, `arrived but recorded failed: ${m.arrivedButFailedIds.join(', ')}`);
}

export function writeFigures(f: Figures): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${f.scenario}.json`), `${JSON.stringify(f, null, 2)}\n`);
  console.log(`[figures] ${JSON.stringify(f)}`);
}
