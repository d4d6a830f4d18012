import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, asc, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import type { DeliveryJob, SendResult } from '../../src/channels/channel.ts';
import { deliveries, deliveryStatusHistory, notifications } from '../../src/db/schema.ts';
import { claimDue } from '../../src/deliveries/claim.ts';
import { reapExpiredLeases } from '../../src/deliveries/reap.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { insertUser, notificationDeps, waitFor } from '../helpers/fixtures.ts';
import { notify, smsDelivery, smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { makeWorker, ScriptedChannel } from '../helpers/workers.ts';

/**
 * A delivery never becomes `failed` on a guess: when the retry budget ends on an attempt whose
 * outcome is unknown (no answer, 5xx, dead worker), the provider is asked first.
 */

const settled = (s: string) => s === 'sent' || s === 'delivered' || s === 'failed';

describe(`an SMS whose last attempt got no answer (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const hanging = '+919876500301';
  const refusing = '+919876500302';
  before(async () => {
    t = await createTestDatabase();
    // One attempt only: the first unknown outcome is also the last attempt of the budget.
    app = await startSmsApp(t, { SMS_MAX_RETRIES: '0', SMS_REQUEST_TIMEOUT_MS: '300' });
    app.sms.sandbox!.setFaults({
      byNumber: {
        // Created, never answered: the client times out not knowing it sent.
        [hanging]: { rateHang: 1 },
        // 5xx, nothing created: the outcome is just as unknown to the client.
        [refusing]: { rate5xx: 1 },
      },
    });
  });
  after(async () => {
    app.sms.sandbox!.setFaults({});
    await app.close();
    await t.close();
  });
  const history = (id: number) =>
    t.database.db
      .select()
      .from(deliveryStatusHistory)
      .where(eq(deliveryStatusHistory.deliveryId, id))
      .orderBy(asc(deliveryStatusHistory.id));
  const atSandbox = (phone: string) => app.sms.sandbox!.messages().filter((m) => m.to === phone);

  test('that reached Twilio ends sent with its sid, not failed, and is not sent again', async () => {
    await smsUser(t.database.db, 'hang-user', hanging);
    const id = await notify(app, 'hang-user');
    const d = await waitFor(async () => {
      const row = await smsDelivery(t.database.db, id);
      return settled(row.status) ? row : undefined;
    });
    const sent = atSandbox(hanging);
    assert.equal(sent.length, 1, 'exactly one SMS at the provider');
    assert.notEqual(d.status, 'failed', `ended ${d.status} (${d.errorCode}: ${d.errorMessage})`);
    assert.equal(d.providerMessageId, sent[0]!.sid);
    const details = d.details as Record<string, unknown>;
    assert.equal(details['reconciled'], true);
    assert.equal(details['outcome_unknown'], false);
    const steps = await history(d.id);
    assert.ok(steps.some((h) => h.detail?.includes('outcome unknown: asking the provider')));
  });

  test('that never reached Twilio ends failed, saying the provider has no such message', async () => {
    await smsUser(t.database.db, 'refused-user', refusing);
    const id = await notify(app, 'refused-user');
    const d = await waitFor(async () => {
      const row = await smsDelivery(t.database.db, id);
      return settled(row.status) ? row : undefined;
    });
    assert.equal(d.status, 'failed');
    assert.equal(d.errorCode, 'NOT_SENT');
    assert.match(d.errorMessage ?? '', /provider has no such message/);
    assert.equal(atSandbox(refusing).length, 0);
    // The send's own error stays in the history.
    const steps = await history(d.id);
    assert.ok(steps.some((h) => h.errorCode === '20500' || h.errorCode === '20503'));
  });
});

describe(`lookup-only attempts (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.close());

  async function newDelivery(userId: string) {
    const db = t.database.db;
    await insertUser(db, userId);
    const { notificationId } = await createNotification(notificationDeps(db), {
      userId,
      type: 'order_confirmed',
      context: getNotificationType('order_confirmed')!.sampleContext,
    });
    const [row] = await db
      .select({ d: deliveries })
      .from(deliveries)
      .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
      .where(and(eq(notifications.notificationId, notificationId), eq(deliveries.channel, 'in_app')));
    return row!.d;
  }
  const reload = async (id: number) =>
    (await t.database.db.select().from(deliveries).where(eq(deliveries.id, id)))[0]!;

  /** A channel whose sends time out and whose provider cannot be asked either. */
  class Unreachable extends ScriptedChannel {
    readonly lookups: DeliveryJob[] = [];
    constructor() {
      super('in_app', () => ({
        kind: 'retryable',
        code: 'TIMEOUT',
        message: 'no answer',
        outcomeUnknown: true,
      }));
    }
    async lookup(job: DeliveryJob): Promise<SendResult | null> {
      this.lookups.push(job);
      throw new Error('provider API unreachable');
    }
  }

  test('a lookup that cannot be made is asked again, bounded, and never resends', async () => {
    const d = await newDelivery('lookup-unreachable');
    // Queued with the budget the policy below names (a delivery keeps the budget it was queued with).
    await t.database.db.update(deliveries).set({ maxAttempts: 2 }).where(eq(deliveries.id, d.id));
    const channel = new Unreachable();
    const policy = { maxAttempts: 2, maxLookups: 3, baseDelayMs: 20, factor: 1, maxDelayMs: 20 };
    const worker = makeWorker(t.database, [channel], { policy });
    await worker.start();
    try {
      await waitFor(async () => (await reload(d.id)).status === 'failed', 15_000, 'failed');
    } finally {
      await worker.stop();
    }
    assert.equal(channel.calls.length, 2, 'sent only within the budget');
    assert.equal(channel.lookups.length, 3, 'then asked the provider, up to the policy bound');
    const final = await reload(d.id);
    assert.equal(final.errorCode, 'LOOKUP_FAILED');
    assert.equal((final.details as Record<string, unknown>)['outcome_unknown'], true);
  });

  test('a worker that died on the last attempt leaves a lookup, not a failure', async () => {
    const d = await newDelivery('lookup-lease');
    const db = t.database.db;
    await db
      .update(deliveries)
      .set({ attempts: d.maxAttempts - 1 })
      .where(eq(deliveries.id, d.id));
    // Claimed for its last attempt with a lease already over: the worker "died" at once.
    const [job] = await claimDue(db, [{ channel: 'in_app', limit: 1 }], 'dead-worker', -1000);
    assert.equal(job?.attempt, d.maxAttempts);
    assert.equal(await reapExpiredLeases(db, { in_app: 1 }), 1);
    const requeued = await reload(d.id);
    assert.equal(requeued.status, 'queued');
    assert.equal((requeued.details as Record<string, unknown>)['outcome_unknown'], true);
    // Its lookup attempt dies too: the lookups are spent, so now it fails.
    await claimDue(db, [{ channel: 'in_app', limit: 1 }], 'dead-worker', -1000);
    assert.equal(await reapExpiredLeases(db, { in_app: 1 }), 1);
    const final = await reload(d.id);
    assert.equal(final.status, 'failed');
    assert.equal(final.errorCode, 'LEASE_EXPIRED');
  });
});
