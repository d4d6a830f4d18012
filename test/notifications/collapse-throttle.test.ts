import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { type ChannelName, getNotificationType } from '../../src/catalog/catalog.ts';
import { TestClock } from '../../src/clock.ts';
import { deliveries, deliveryStatusHistory, notifications } from '../../src/db/schema.ts';
import { claimDue } from '../../src/deliveries/claim.ts';
import { notificationTimeline } from '../../src/deliveries/delivery-timeline.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { createNotificationBatch } from '../../src/notifications/create-notification-batch.ts';
import { getNotificationView } from '../../src/notifications/notification-view.ts';
import { insertUser, notificationDeps, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { makeWorker, ScriptedChannel } from '../helpers/workers.ts';

const WINDOW = 15 * 60_000;
const RESCHEDULED = getNotificationType('order_rescheduled')!.sampleContext;
const RUN: ChannelName[] = ['in_app', 'email'];
const runs = (channel: string) => (RUN as string[]).includes(channel);
// order_rescheduled: collapsed by the order number, and sent on in-app and email (RUN).
const rescheduled = (order: string) => ({
  type: 'order_rescheduled',
  context: { ...RESCHEDULED, order: { ...(RESCHEDULED['order'] as object), order_number: order } },
});
const initiated = {
  type: 'payment_initiated',
  context: getNotificationType('payment_initiated')!.sampleContext,
};

describe(`collapse and throttle (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.close());

  const deliveriesOf = async (notificationId: string) => {
    const db = t.database.db;
    const [n] = await db.select().from(notifications).where(eq(notifications.notificationId, notificationId));
    return db
      .select()
      .from(deliveries)
      .where(eq(deliveries.notificationId, n!.id))
      .orderBy(asc(deliveries.id));
  };
  /** The deliveries of the channels the tests run (the others are skipped as not configured). */
  const statuses = async (notificationId: string) =>
    (await deliveriesOf(notificationId))
      .filter((d) => runs(d.channel))
      .map((d) => `${d.channel}:${d.status}:${d.skipReason ?? ''}`);
  const lastDetail = async (deliveryId: number) => {
    const rows = await t.database.db
      .select()
      .from(deliveryStatusHistory)
      .where(eq(deliveryStatusHistory.deliveryId, deliveryId))
      .orderBy(asc(deliveryStatusHistory.id));
    return rows.at(-1)!;
  };

  /** Runs a worker whose in-app channel delivers at once until `id`'s in-app delivery is delivered; the jobs it was handed. */
  const sendUntilDelivered = async (id: string, clock?: TestClock) => {
    const channel = new ScriptedChannel('in_app', () => ({ kind: 'sent', delivered: true }));
    const worker = makeWorker(t.database, [channel], clock ? { clock } : {});
    await worker.start();
    try {
      await waitFor(async () => (await statuses(id))[0] === 'in_app:delivered:', 10_000, `${id} delivered`);
    } finally {
      await worker.stop();
    }
    return channel.calls.map((j) => j.notificationId);
  };

  test('collapse keeps only the newest: three in a row, the first two superseded, the last sent', async () => {
    const db = t.database.db;
    await insertUser(db, 'c-three');
    await insertUser(db, 'c-three-other');
    const deps = notificationDeps(db, RUN);
    const create = (userId: string, order: string) =>
      createNotification(deps, { userId, ...rescheduled(order) }).then((r) => r.notificationId);
    const first = await create('c-three', 'ORD-A');
    const second = await create('c-three', 'ORD-A');
    // Another order of the same user, and the same order number of another user: not the same key.
    const otherOrder = await create('c-three', 'ORD-B');
    const otherUser = await create('c-three-other', 'ORD-A');
    const third = await create('c-three', 'ORD-A');

    const [n1] = await db.select().from(notifications).where(eq(notifications.notificationId, first));
    assert.equal(n1!.collapseKey, 'ORD-A');
    for (const [older, newer] of [
      [first, second],
      [second, third],
    ] as const) {
      assert.deepEqual(await statuses(older), ['in_app:skipped:superseded', 'email:skipped:superseded']);
      for (const d of (await deliveriesOf(older)).filter((d) => runs(d.channel))) {
        assert.equal(d.errorMessage, `superseded by ${newer}`);
        assert.equal(d.nextAttemptAt, null);
        const h = await lastDetail(d.id);
        assert.equal(`${h.fromStatus}→${h.toStatus}: ${h.detail}`, `queued→skipped: superseded by ${newer}`);
      }
    }
    for (const id of [third, otherOrder, otherUser]) {
      assert.deepEqual(await statuses(id), ['in_app:queued:', 'email:queued:']);
    }

    // The API's view and the console's timeline say so.
    const view = await getNotificationView(db, first);
    assert.equal(view!.deliveries[0]!.skip_reason, 'superseded');
    assert.deepEqual(
      view!.deliveries[0]!.history.map((h) => h.detail),
      [null, `superseded by ${second}`],
    );
    const timeline = await notificationTimeline(db, first);
    assert.equal(timeline!.deliveries[0]!.skipReason!.code, 'superseded');
    assert.equal(timeline!.deliveries[0]!.steps.at(-1)!.detail, `superseded by ${second}`);

    // The worker sends the newest only.
    const sent = await sendUntilDelivered(third);
    assert.ok(sent.includes(third));
    assert.ok(!sent.includes(first) && !sent.includes(second));
  });

  test('a newer one leaves an older one alone once it is sending or sent', async () => {
    const db = t.database.db;
    await insertUser(db, 'c-sent');
    const deps = notificationDeps(db, RUN);
    const older = (await createNotification(deps, { userId: 'c-sent', ...rescheduled('ORD-S') }))
      .notificationId;
    await sendUntilDelivered(older);
    // Its email is claimed meanwhile: sending.
    const [email] = (await deliveriesOf(older)).filter((d) => d.channel === 'email');
    const claimed = await claimDue(db, [{ channel: 'email', limit: 100 }], 'c-sent-worker', 60_000);
    assert.ok(claimed.some((j) => j.deliveryId === String(email!.id)));

    const newer = (await createNotification(deps, { userId: 'c-sent', ...rescheduled('ORD-S') }))
      .notificationId;
    assert.deepEqual(await statuses(older), ['in_app:delivered:', 'email:sending:']);
    assert.deepEqual(await statuses(newer), ['in_app:queued:', 'email:queued:']);
  });

  test('a queued delivery whose last attempt may have reached the user is not superseded', async () => {
    const db = t.database.db;
    await insertUser(db, 'c-unknown');
    const deps = notificationDeps(db, RUN);
    const older = (await createNotification(deps, { userId: 'c-unknown', ...rescheduled('ORD-U') }))
      .notificationId;
    const [d] = await deliveriesOf(older);
    await db
      .update(deliveries)
      .set({ attempts: 1, details: { outcome_unknown: true } })
      .where(eq(deliveries.id, d!.id));
    await createNotification(deps, { userId: 'c-unknown', ...rescheduled('ORD-U') });
    assert.deepEqual(await statuses(older), ['in_app:queued:', 'email:skipped:superseded']);
  });

  test('in one batch, the later item of a key supersedes the earlier', async () => {
    const db = t.database.db;
    await insertUser(db, 'c-batch');
    const deps = notificationDeps(db, RUN);
    const results = await createNotificationBatch(deps, [
      { input: { userId: 'c-batch', ...rescheduled('ORD-X') } },
      { input: { userId: 'c-batch', ...rescheduled('ORD-Y') } },
      { input: { userId: 'c-batch', ...rescheduled('ORD-X') } },
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      [201, 201, 201],
    );
    const [x1, y, x2] = results.map((r) => r.notification_id!);
    assert.deepEqual(await statuses(x1!), ['in_app:skipped:superseded', 'email:skipped:superseded']);
    assert.equal((await deliveriesOf(x1!))[0]!.errorMessage, `superseded by ${x2}`);
    assert.deepEqual(await statuses(y!), ['in_app:queued:', 'email:queued:']);
    assert.deepEqual(await statuses(x2!), ['in_app:queued:', 'email:queued:']);
  });

  test('racing creates of one key leave exactly one queued, the newest', async () => {
    const db = t.database.db;
    await insertUser(db, 'c-race');
    const deps = notificationDeps(db, RUN);
    const ids = await Promise.all(
      Array.from({ length: 6 }, () =>
        createNotification(deps, { userId: 'c-race', ...rescheduled('ORD-R') }).then((r) => r.notificationId),
      ),
    );
    const rows = await db
      .select({ id: notifications.id, nid: notifications.notificationId, status: deliveries.status })
      .from(notifications)
      .innerJoin(deliveries, eq(deliveries.notificationId, notifications.id))
      .where(and(inArray(notifications.notificationId, ids), eq(deliveries.channel, 'in_app')))
      .orderBy(asc(notifications.id));
    assert.deepEqual(
      rows.map((r) => r.status),
      [...Array(5).fill('skipped'), 'queued'],
    );
  });

  test('throttle: at most one per user per type per window, then sent again once it passes', async () => {
    const db = t.database.db;
    const clock = new TestClock();
    const deps = { ...notificationDeps(db, RUN), now: () => new Date(clock.now()) };
    await insertUser(db, 'th-1');
    await insertUser(db, 'th-2');
    const create = (userId: string, what: { type: string; context: Record<string, unknown> }) =>
      createNotification(deps, { userId, ...what }).then((r) => r.notificationId);

    const holder = await create('th-1', initiated);
    assert.deepEqual(await statuses(holder), ['in_app:queued:', 'email:queued:']);
    clock.advance(WINDOW - 60_000);
    const throttled = await create('th-1', initiated);
    assert.deepEqual(await statuses(throttled), ['in_app:skipped:throttled', 'email:skipped:throttled']);
    const [h] = await db.select().from(notifications).where(eq(notifications.notificationId, holder));
    const until = new Date(h!.createdAt.getTime() + WINDOW).toISOString();
    const message = `throttled: at most one payment_initiated per user every 15 min; ${holder} holds the window until ${until}`;
    for (const d of (await deliveriesOf(throttled)).filter((d) => runs(d.channel))) {
      assert.equal(d.errorMessage, message);
      assert.equal((await lastDetail(d.id)).detail, message);
    }
    // Another user, and another type of the same user, are not throttled.
    assert.deepEqual(await statuses(await create('th-2', initiated)), ['in_app:queued:', 'email:queued:']);
    assert.deepEqual(
      await statuses(
        await create('th-1', { type: 'welcome', context: { promo: { code: 'W', discount: 5 } } }),
      ),
      ['in_app:queued:', 'email:queued:'],
    );

    // Past the window (measured from the holder, not from the throttled one): sent again.
    clock.advance(2 * 60_000);
    const again = await create('th-1', initiated);
    assert.deepEqual(await statuses(again), ['in_app:queued:', 'email:queued:']);
    const sent = await sendUntilDelivered(again, clock);
    assert.ok(!sent.includes(throttled));
  });

  test('a batch reads the windows at once and counts its own earlier items', async () => {
    const db = t.database.db;
    await insertUser(db, 'tb-1');
    await insertUser(db, 'tb-2');
    const deps = notificationDeps(db, RUN);
    const results = await createNotificationBatch(deps, [
      { input: { userId: 'tb-1', ...initiated } },
      { input: { userId: 'tb-2', ...initiated } },
      { input: { userId: 'tb-1', ...initiated } },
      { input: { userId: 'tb-1', ...rescheduled('ORD-T') } },
      { input: { userId: 'tb-1', ...initiated } },
    ]);
    const ids = results.map((r) => r.notification_id!);
    // The batch's answer is what was written.
    assert.deepEqual(
      results.map((r) => {
        const inApp = r.deliveries!.find((d) => d.channel === 'in_app')!;
        return `${inApp.status}:${inApp.skip_reason ?? ''}`;
      }),
      ['queued:', 'queued:', 'skipped:throttled', 'queued:', 'skipped:throttled'],
    );
    for (const i of [2, 4]) {
      assert.deepEqual(await statuses(ids[i]!), ['in_app:skipped:throttled', 'email:skipped:throttled']);
      assert.match(
        (await deliveriesOf(ids[i]!))[0]!.errorMessage!,
        new RegExp(`; ${ids[0]} holds the window`),
      );
    }
    // A later call finds the stored holder.
    const later = await createNotification(deps, { userId: 'tb-2', ...initiated });
    assert.deepEqual(await statuses(later.notificationId), [
      'in_app:skipped:throttled',
      'email:skipped:throttled',
    ]);
  });

  test('racing creates of one user and type: exactly one holds the window', async () => {
    const db = t.database.db;
    await insertUser(db, 'th-race');
    const deps = notificationDeps(db, RUN);
    const ids = await Promise.all(
      Array.from({ length: 6 }, () =>
        createNotification(deps, { userId: 'th-race', ...initiated }).then((r) => r.notificationId),
      ),
    );
    const rows = await db
      .select({ status: deliveries.status, reason: deliveries.skipReason })
      .from(deliveries)
      .innerJoin(notifications, eq(deliveries.notificationId, notifications.id))
      .where(and(inArray(notifications.notificationId, ids), eq(deliveries.channel, 'in_app')));
    assert.equal(rows.filter((r) => r.status === 'queued').length, 1);
    assert.equal(rows.filter((r) => r.reason === 'throttled').length, 5);
    // Nothing of the lock outlives its transaction.
    const [held] = await t.database.db
      .execute(
        sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and classid = ${0x4c430002}`,
      )
      .then((r) => (r as unknown as { rows: Array<{ n: number }> }).rows);
    assert.equal(held!.n, 0);
  });
});
