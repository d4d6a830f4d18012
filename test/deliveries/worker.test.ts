import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { TestClock } from '../../src/clock.ts';
import { deliveries, deliveryStatusHistory, notifications } from '../../src/db/schema.ts';
import { claimDue } from '../../src/deliveries/claim.ts';
import { reapExpiredLeases } from '../../src/deliveries/reap.ts';
import { InAppChannel } from '../../src/inbox/in-app-channel.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { insertUser, notificationDeps, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { makeWorker, ScriptedChannel, seedQueuedDeliveries } from '../helpers/workers.ts';

const context = getNotificationType('order_confirmed')!.sampleContext;

describe(`delivery worker (${ENGINE})`, () => {
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
      context,
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
  const history = async (id: number) =>
    t.database.db
      .select()
      .from(deliveryStatusHistory)
      .where(eq(deliveryStatusHistory.deliveryId, id))
      .orderBy(asc(deliveryStatusHistory.id));

  test('an in-app delivery is claimed and marked delivered, every step in the history', async () => {
    const d = await newDelivery('w-inapp');
    const worker = makeWorker(t.database, [new InAppChannel()]);
    await worker.start();
    try {
      await waitFor(async () => (await reload(d.id)).status === 'delivered', 10_000, 'delivered');
    } finally {
      await worker.stop();
    }
    const steps = (await history(d.id)).map((h) => `${h.fromStatus ?? '∅'}→${h.toStatus}`);
    assert.deepEqual(steps, ['∅→queued', 'queued→sending', 'sending→delivered']);
    const final = await reload(d.id);
    assert.equal(final.attempts, 1);
    assert.equal(final.leaseOwner, null);
    assert.ok(final.deliveredAt);
  });

  test('a retryable failure is retried with growing backoff, then fails for good', async () => {
    const d = await newDelivery('w-retry');
    const channel = new ScriptedChannel('in_app', () => ({
      kind: 'retryable',
      code: '503',
      message: 'busy',
    }));
    const minute = 60_000;
    const policy = { maxAttempts: 3, maxLookups: 0, baseDelayMs: minute, factor: 2, maxDelayMs: 10 * minute };
    const clock = new TestClock();
    const worker = makeWorker(t.database, [channel], { policy, clock });
    const failedAttempt = (n: number) => async () => {
      const row = await reload(d.id);
      return row.attempts === n && row.status !== 'sending' ? row : undefined;
    };
    await worker.start();
    try {
      // Each retry is due one backoff after the failure, on the worker's clock; stepping the clock
      // there (its poll fires) is what lets the worker claim it: nobody waits a minute.
      const first = await waitFor(failedAttempt(1), 10_000, 'attempt 1 written');
      assert.equal(first.status, 'queued');
      assert.equal(first.nextAttemptAt?.getTime(), clock.now() + minute);
      clock.advance(minute);
      const second = await waitFor(failedAttempt(2), 10_000, 'attempt 2 written');
      assert.equal(second.status, 'queued');
      assert.equal(second.nextAttemptAt?.getTime(), clock.now() + 2 * minute);
      clock.advance(2 * minute);
      await waitFor(failedAttempt(3), 10_000, 'attempt 3 written');
    } finally {
      await worker.stop();
    }
    const final = await reload(d.id);
    assert.equal(final.status, 'failed');
    assert.equal(final.attempts, 3);
    assert.equal(final.errorCode, '503');
    assert.equal(channel.calls.filter((j) => j.deliveryId === String(d.id)).length, 3);
    assert.equal((await history(d.id)).filter((h) => h.toStatus === 'sending').length, 3);
    const last = (await history(d.id)).at(-1)!;
    assert.equal(last.toStatus, 'failed');
    assert.match(last.detail ?? '', /retries exhausted/);
  });

  test('the budget is the one the delivery was queued with, not the policy as configured now', async () => {
    // Queued under a budget of 2 attempts; the worker's policy has since been raised to 5 (a changed
    // SMS_MAX_RETRIES): the worker must stop at 2, as the reaper and provider statuses do in SQL.
    const d = await newDelivery('w-budget');
    await t.database.db.update(deliveries).set({ maxAttempts: 2 }).where(eq(deliveries.id, d.id));
    const channel = new ScriptedChannel('in_app', () => ({
      kind: 'retryable',
      code: '503',
      message: 'busy',
    }));
    const policy = { maxAttempts: 5, maxLookups: 0, baseDelayMs: 1_000, factor: 1, maxDelayMs: 1_000 };
    const clock = new TestClock();
    const worker = makeWorker(t.database, [channel], { policy, clock });
    await worker.start();
    try {
      const first = await waitFor(
        async () => {
          const row = await reload(d.id);
          return row.attempts === 1 && row.status === 'queued' ? row : undefined;
        },
        10_000,
        'attempt 1 written',
      );
      assert.equal(first.nextAttemptAt?.getTime(), clock.now() + 1_000);
      clock.advance(1_000);
      await waitFor(async () => (await reload(d.id)).status === 'failed', 10_000, 'failed after attempt 2');
    } finally {
      await worker.stop();
    }
    const final = await reload(d.id);
    assert.equal(final.attempts, 2);
    assert.equal(channel.calls.filter((j) => j.deliveryId === String(d.id)).length, 2);
  });

  test('a retry is claimed once its due time is reached and not a millisecond before', async () => {
    const d = await newDelivery('w-due');
    const due = Date.now() + 60_000;
    await t.database.db
      .update(deliveries)
      .set({ nextAttemptAt: new Date(due) })
      .where(eq(deliveries.id, d.id));
    const claim = async (now: number) =>
      (
        await claimDue(t.database.db, [{ channel: 'in_app', limit: 100 }], 'w-due', 30_000, new Date(now))
      ).map((j) => j.deliveryId);
    assert.ok(!(await claim(due - 1)).includes(String(d.id)), 'not due yet');
    assert.ok((await claim(due)).includes(String(d.id)), 'due');
    // Its lease runs from the same instant: expired only past it.
    await reapExpiredLeases(t.database.db, {}, new Date(due + 30_000));
    assert.equal((await reload(d.id)).status, 'sending', 'lease still held');
    await reapExpiredLeases(t.database.db, {}, new Date(due + 30_001));
    assert.equal((await reload(d.id)).status, 'queued', 'lease expired');
  });

  test('a permanent failure is not retried', async () => {
    const d = await newDelivery('w-permanent');
    const channel = new ScriptedChannel('in_app', () => ({
      kind: 'permanent',
      code: '21211',
      message: 'bad number',
    }));
    const worker = makeWorker(t.database, [channel]);
    await worker.start();
    try {
      await waitFor(async () => (await reload(d.id)).status === 'failed', 10_000, 'failed');
    } finally {
      await worker.stop();
    }
    assert.equal((await reload(d.id)).attempts, 1);
    assert.equal(channel.calls.length, 1);
  });

  test('stop() drains in-flight sends before returning', async () => {
    const d = await newDelivery('w-drain');
    const started = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    const channel = new ScriptedChannel('in_app', async () => {
      started.resolve();
      await release.promise;
      return { kind: 'sent', delivered: true };
    });
    const worker = makeWorker(t.database, [channel]);
    await worker.start();
    await started.promise;
    assert.equal((await reload(d.id)).status, 'sending');
    // The send finishes only after stop() was called: its outcome is written before stop() returns.
    const stopping = worker.stop();
    release.resolve();
    await stopping;
    assert.equal((await reload(d.id)).status, 'delivered');
  });

  test("a dead worker's expired lease is reclaimed by another worker and flagged outcome-unknown", async () => {
    const d = await newDelivery('w-lease');
    // A worker that claimed the delivery and died: its 30 s lease runs out on the test's clock.
    const clock = new TestClock();
    const claimed = await claimDue(
      t.database.db,
      [{ channel: 'in_app', limit: 10 }],
      'dead-worker',
      30_000,
      clock.sqlNow(),
    );
    assert.ok(claimed.some((j) => j.deliveryId === String(d.id)));
    const worker = makeWorker(t.database, [new InAppChannel()], { clock });
    await worker.start();
    try {
      clock.advance(30_001);
      await waitFor(async () => (await reload(d.id)).status === 'delivered', 10_000, 'delivered');
    } finally {
      await worker.stop();
    }
    const final = await reload(d.id);
    assert.equal(final.attempts, 2);
    assert.equal((final.details as Record<string, unknown>)['outcome_unknown'], true);
    assert.ok((await history(d.id)).some((h) => h.detail?.includes('lease expired')));
  });

  test('four workers claim 10,000 deliveries and each is processed exactly once', async () => {
    await seedQueuedDeliveries(t.database, 10_000);
    const seen = new Map<string, number>();
    const channel = () =>
      new ScriptedChannel('in_app', (job) => {
        seen.set(job.deliveryId, (seen.get(job.deliveryId) ?? 0) + 1);
        return { kind: 'sent', delivered: true };
      });
    const workers = [1, 2, 3, 4].map((i) =>
      makeWorker(t.database, [channel()], { workerId: `w${i}`, batchSize: 200 }),
    );
    await Promise.all(workers.map((w) => w.start()));
    try {
      await waitFor(async () => seen.size >= 10_000, 120_000, '10,000 deliveries');
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    assert.equal(duplicates, 0);
    const ids = [...seen.keys()].map(Number);
    const states = await t.database.db
      .select({ status: deliveries.status })
      .from(deliveries)
      .where(inArray(deliveries.id, ids.slice(0, 1000)));
    assert.ok(states.every((s) => s.status === 'delivered'));
  });
});
