import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, asc, eq } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { TestClock } from '../../src/clock.ts';
import { deliveries, deliveryStatusHistory, notifications } from '../../src/db/schema.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, smsUser } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

/**
 * Scheduled sends through the whole service on a stepped clock: nothing goes before its time,
 * a cancelled one never goes (the worker claims past its due time and the sandbox gets nothing),
 * cancelling after the send says it was already sent, order.cancelled cancels the reminder, and a
 * restart while they wait loses none. "Nothing was sent" is proven against a control notification
 * due at the same instant: once the control reached the sandbox, the worker has claimed past it.
 */
const HOUR = 3_600_000;
const ORDER = getNotificationType('pickup_reminder')!.sampleContext;

describe(`scheduled sends and cancellation, worker on a test clock (${ENGINE})`, () => {
  let t: TestDatabase;
  let clock: TestClock;
  let app: RunningApp;
  let seq = 0;

  const start = () =>
    startApp({
      config: testConfig({
        PORT: '0',
        ADMIN_API_KEY: ADMIN_KEY,
        SANDBOX_STEP_MS: '20',
        SMS_REQUEST_TIMEOUT_MS: '2000',
        // Polls on the test clock: a step of the clock past a due time wakes the worker.
        WORKER_POLL_MS: '60000',
      }),
      api: true,
      worker: true,
      database: t.database,
      clock,
    });

  before(async () => {
    t = await createTestDatabase();
    clock = new TestClock();
    app = await start();
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON the assertions inspect
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  /** A user with a phone of their own, so the sandbox's messages tell them apart. */
  async function user() {
    const id = `sc-${++seq}`;
    const phone = `+9198765${String(10_000 + seq).padStart(5, '0')}`;
    await smsUser(t.database.db, id, phone);
    return { id, phone };
  }

  const smsTo = (phone: string) => app.sms.sandbox!.messages().filter((m) => m.to === phone);

  async function schedule(userId: string, sendAt: string, extra: Record<string, unknown> = {}) {
    const res = await call('POST', '/api/v1/notifications', {
      user_id: userId,
      type: 'pickup_reminder',
      context: ORDER,
      send_at: sendAt,
      ...extra,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  async function smsRow(notificationId: string) {
    const [row] = await t.database.db
      .select({ d: deliveries })
      .from(deliveries)
      .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
      .where(and(eq(notifications.notificationId, notificationId), eq(deliveries.channel, 'sms')));
    return row!.d;
  }

  const lastLine = async (deliveryId: number) =>
    (
      await t.database.db
        .select()
        .from(deliveryStatusHistory)
        .where(eq(deliveryStatusHistory.deliveryId, deliveryId))
        .orderBy(asc(deliveryStatusHistory.id))
    ).at(-1)!;

  /** Step past `at`, and wait until the control's SMS reached the sandbox: the worker claimed past `at`. */
  async function passAndWitness(at: string, control: string) {
    clock.advance(Date.parse(at) - clock.now() + 60_000);
    await waitFor(async () => smsTo(control).length > 0, 15_000, 'the control SMS');
  }

  test('the API refuses a past send_at and a malformed one with a 400 naming send_at', async () => {
    const u = await user();
    const past = await call('POST', '/api/v1/notifications', {
      user_id: u.id,
      type: 'pickup_reminder',
      context: ORDER,
      send_at: new Date(clock.now() - HOUR).toISOString(),
    });
    assert.equal(past.status, 400);
    assert.match(past.body['detail'], /send_at: .* is in the past/);
    const naive = await call('POST', '/api/v1/notifications', {
      user_id: u.id,
      type: 'pickup_reminder',
      context: ORDER,
      send_at: '2027-01-18T08:00:00',
    });
    assert.equal(naive.status, 400);
    assert.match(JSON.stringify(naive.body['errors']), /send_at/);
    const batch = await call('POST', '/api/v1/notifications/batch', {
      notifications: [
        {
          user_id: u.id,
          type: 'pickup_reminder',
          context: ORDER,
          send_at: new Date(clock.now() - HOUR).toISOString(),
        },
        { user_id: u.id, type: 'pickup_reminder', context: ORDER, send_at: { local: '2020-01-01T08:00' } },
      ],
    });
    assert.equal(batch.status, 200);
    assert.deepEqual(
      batch.body['results'].map((r: { status: number }) => r.status),
      [400, 400],
    );
  });

  test('cancel by id before the due time: nothing reaches the sandbox after the clock passes it', async () => {
    const [a, control] = [await user(), await user()];
    const at = new Date(clock.now() + HOUR).toISOString();
    const n = await schedule(a.id, at);
    await schedule(control.id, at);
    const sms = n['deliveries'].find((d: { channel: string }) => d.channel === 'sms');
    assert.equal(sms.status, 'queued');
    assert.equal(sms.next_attempt_at, at);
    assert.equal(sms.history[0].detail, `scheduled for ${at}`);

    const cancelled = await call('POST', `/api/v1/notifications/${n['notification_id']}/cancel`);
    assert.equal(cancelled.status, 200);
    // Each delivery says what became of it: the waiting ones cancelled, push skipped from the start.
    assert.deepEqual(
      Object.fromEntries(
        cancelled.body['deliveries'].map((d: { channel: string; result: string }) => [d.channel, d.result]),
      ),
      { in_app: 'cancelled', sms: 'cancelled', email: 'cancelled', push: 'already_skipped' },
    );
    assert.equal(cancelled.body['cancelled'], 3);
    assert.equal(cancelled.body['not_cancelled'], 1);

    await passAndWitness(at, control.phone);
    assert.deepEqual(smsTo(a.phone), []);
    const row = await smsRow(n['notification_id']);
    assert.equal(row.status, 'skipped');
    assert.equal(row.skipReason, 'cancelled');
    assert.equal(row.attempts, 0);
    assert.equal((await lastLine(row.id)).detail, 'cancelled by id');

    const view = await call('GET', `/api/v1/notifications/${n['notification_id']}`);
    assert.equal(view.body['send_at'], at);
    assert.equal((await call('POST', '/api/v1/notifications/ntf_not_there/cancel')).status, 404);
  });

  test('cancel by key before the due time cancels only that key (and user); after it, the answer says already sent', async () => {
    const [a, b, control] = [await user(), await user(), await user()];
    const at = new Date(clock.now() + HOUR).toISOString();
    const key = `route-${seq}`;
    const mine = await schedule(a.id, at, { cancel_key: key });
    const other = await schedule(b.id, at, { cancel_key: key });
    await schedule(control.id, at);

    const res = await call('POST', '/api/v1/notifications/cancel', { cancel_key: key, user_id: a.id });
    assert.equal(res.status, 200);
    assert.deepEqual(
      [...new Set(res.body['deliveries'].map((d: { notification_id: string }) => d.notification_id))],
      [mine['notification_id']],
    );
    assert.ok(res.body['cancelled'] >= 2);
    const line = await lastLine((await smsRow(mine['notification_id'])).id);
    assert.equal(line.detail, `cancelled by key ${key}`);

    await passAndWitness(at, control.phone);
    await waitFor(async () => smsTo(b.phone).length > 0, 15_000, "b's SMS");
    assert.deepEqual(smsTo(a.phone), []);

    // After the due time: b's SMS went out, and the answer says so instead of cancelling it.
    await waitFor(async () =>
      ['sent', 'delivered'].includes((await smsRow(other['notification_id'])).status),
    );
    const late = await call('POST', '/api/v1/notifications/cancel', { cancel_key: key });
    const bSms = late.body['deliveries'].find(
      (d: { notification_id: string; channel: string }) =>
        d.notification_id === other['notification_id'] && d.channel === 'sms',
    );
    assert.match(bSms.result, /^already_(sent|delivered)$/);
    assert.equal(late.body['cancelled'], 0);
    assert.equal(smsTo(b.phone).length, 1);
  });

  test('order.cancelled cancels the pickup reminder waiting under the order number, then notifies the cancellation', async () => {
    const [a, partner, control] = [await user(), await user(), await user()];
    const order = { ...(ORDER['order'] as object), order_number: `LCX${seq}` };
    const at = new Date(clock.now() + HOUR).toISOString();
    const reminder = await call('POST', '/api/v1/events', {
      id: `evt-rem-${seq}`,
      type: 'order.pickup_reminder',
      customer_id: a.id,
      data: { order },
      send_at: at,
    });
    assert.equal(reminder.status, 202, JSON.stringify(reminder.body));
    const reminderId = reminder.body['notifications'][0].notification_id;
    await schedule(control.id, at);

    const cancelled = await call('POST', '/api/v1/events', {
      id: `evt-cxl-${seq}`,
      type: 'order.status_changed',
      customer_id: a.id,
      partner_id: partner.id,
      data: { status: 'cancelled', order },
    });
    assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    const row = await smsRow(reminderId);
    assert.equal(row.status, 'skipped');
    assert.equal(row.skipReason, 'cancelled');
    assert.equal((await lastLine(row.id)).detail, `cancelled by key ${order.order_number}`);

    // The cancellation itself is critical and goes at once; the reminder never does.
    await waitFor(async () => smsTo(a.phone).length > 0, 15_000, 'the cancellation SMS');
    await passAndWitness(at, control.phone);
    const bodies = smsTo(a.phone).map((m) => m.body);
    assert.equal(bodies.length, 1, bodies.join(' | '));
  });

  test('a restart while scheduled deliveries wait loses none: after it, the clock passes and each is sent once', async () => {
    const waiting = [await user(), await user()];
    const at = new Date(clock.now() + HOUR).toISOString();
    const ids = [];
    for (const u of waiting) ids.push((await schedule(u.id, at))['notification_id']);
    await app.close();
    app = await start();
    clock.advance(Date.parse(at) - clock.now() + 60_000);
    for (const u of waiting) await waitFor(async () => smsTo(u.phone).length > 0, 15_000, 'the SMS');
    for (const id of ids) {
      const row = await waitFor(async () => {
        const r = await smsRow(id);
        return ['sent', 'delivered'].includes(r.status) && r;
      });
      assert.equal(row.attempts, 1);
    }
    for (const u of waiting) assert.equal(smsTo(u.phone).length, 1);
  });
});
