import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { DEFAULT_SMS_PRICES } from '../../src/channels/sms/cost.ts';
import { composeSms } from '../../src/channels/sms/sms-composer.ts';
import { notifications } from '../../src/db/schema.ts';
import { insertUser, waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const sample = (type: string) => getNotificationType(type)!.sampleContext;

describe(`events API (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t);
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  const send = (body: unknown, key?: string) =>
    fetch(`${app.url}/api/v1/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        'content-type': 'application/json',
        ...(key ? { 'idempotency-key': key } : {}),
      },
      body: JSON.stringify(body),
    });

  test('order.status_changed to confirmed notifies the customer with order_confirmed', async () => {
    await insertUser(t.database.db, 'ev-cust');
    const res = await send({
      id: 'evt-1',
      type: 'order.status_changed',
      customer_id: 'ev-cust',
      data: { ...sample('order_confirmed'), status: 'confirmed' },
    });
    assert.equal(res.status, 202);
    const body = (await res.json()) as {
      notifications: Array<{ type: string; user_id: string; created: boolean }>;
    };
    assert.deepEqual(
      body.notifications.map((n) => [n.type, n.user_id, n.created]),
      [['order_confirmed', 'ev-cust', true]],
    );
  });

  test('the same event sent twice creates one notification', async () => {
    await insertUser(t.database.db, 'ev-twice');
    const event = {
      id: 'evt-twice',
      type: 'payment.completed',
      customer_id: 'ev-twice',
      data: sample('payment_completed'),
    };
    const first = (await (await send(event)).json()) as { notifications: Array<{ notification_id: string }> };
    const again = await send(event);
    assert.equal(again.status, 200);
    const second = (await again.json()) as {
      notifications: Array<{ notification_id: string; created: boolean }>;
    };
    assert.equal(second.notifications[0]!.notification_id, first.notifications[0]!.notification_id);
    assert.equal(second.notifications[0]!.created, false);
  });

  test('a cancelled order notifies both the customer and the partner, once each, with an Idempotency-Key', async () => {
    await insertUser(t.database.db, 'ev-c2');
    await insertUser(t.database.db, 'ev-p2', { role: 'partner' });
    const event = {
      type: 'order.status_changed',
      customer_id: 'ev-c2',
      partner_id: 'ev-p2',
      data: { ...sample('order_cancelled'), status: 'cancelled' },
    };
    const body = (await (await send(event, 'cancel-ORD9')).json()) as {
      notifications: Array<{ recipient: string }>;
    };
    assert.deepEqual(body.notifications.map((n) => n.recipient).sort(), ['customer', 'partner']);
    const replay = await send(event, 'cancel-ORD9');
    assert.equal(replay.status, 200);
  });

  test('a recipient that fails after another was notified: the error lists the notification stored', async () => {
    await insertUser(t.database.db, 'ev-c3');
    const event = {
      type: 'order.status_changed',
      customer_id: 'ev-c3',
      partner_id: 'ev-no-such-partner',
      data: { ...sample('order_cancelled'), status: 'cancelled' },
    };
    const res = await send(event, 'cancel-ORD10');
    assert.equal(res.status, 404);
    const body = (await res.json()) as {
      code: string;
      notifications: Array<{ recipient: string; user_id: string; created: boolean; notification_id: string }>;
    };
    assert.equal(body.code, 'USER_NOT_FOUND');
    assert.deepEqual(
      body.notifications.map((n) => [n.recipient, n.user_id, n.created]),
      [['customer', 'ev-c3', true]],
    );
    // Retried with the key once the partner exists: the customer's is replayed, the partner's made.
    await insertUser(t.database.db, 'ev-no-such-partner', { role: 'partner' });
    const retry = (await (await send(event, 'cancel-ORD10')).json()) as {
      notifications: Array<{ recipient: string; created: boolean; notification_id: string }>;
    };
    const customer = retry.notifications.find((n) => n.recipient === 'customer')!;
    assert.equal(customer.notification_id, body.notifications[0]!.notification_id);
    assert.equal(customer.created, false);
    assert.equal(retry.notifications.find((n) => n.recipient === 'partner')?.created, true);
  });

  test('unknown event types and statuses are refused with 422 listing what is accepted', async () => {
    const res = await send({ type: 'order.teleported', customer_id: 'x', data: {} });
    assert.equal(res.status, 422);
    const body = (await res.json()) as { code: string; accepted: string[] };
    assert.equal(body.code, 'UNKNOWN_EVENT_TYPE');
    assert.ok(body.accepted.includes('order.status_changed') && body.accepted.includes('payment.completed'));
    const status = await send({ type: 'order.status_changed', customer_id: 'x', data: { status: 'lost' } });
    assert.equal(status.status, 422);
    assert.ok(
      ((await status.json()) as { accepted_statuses: string[] }).accepted_statuses.includes(
        'out_for_delivery',
      ),
    );
  });

  test('an event type named like an Object.prototype member is unknown, not a 500', async () => {
    for (const type of [
      'valueOf',
      'constructor',
      '__proto__',
      'toString',
      'order.status_changed:confirmed',
    ]) {
      const res = await send({ type, customer_id: 'x', data: {} });
      assert.equal(res.status, 422, type);
      const status = await send({ type: 'order.status_changed', customer_id: 'x', data: { status: type } });
      assert.equal(status.status, 422, `order.status_changed:${type}`);
    }
  });

  test('an event without its recipient id is a 400 naming the field', async () => {
    const res = await send({ type: 'partner.approved', data: sample('partner_approved') });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { detail: string }).detail, /partner_id/);
  });

  const problem = async (res: Response) => {
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; errors: Array<{ field: string }> };
    assert.equal(body.code, 'VALIDATION_FAILED');
    return body.errors.map((e) => e.field);
  };

  test('a blank or mistyped value a template prints is a 400 naming the field, and notifies nobody', async () => {
    const user = await insertUser(t.database.db, 'ev-blank');
    const data = sample('order_created') as { order: Record<string, unknown> };
    const cases: Array<[string, unknown, string]> = [
      ['order_number', null, 'body.data.order.order_number'],
      ['order_number', '', 'body.data.order.order_number'],
      ['order_number', '   ', 'body.data.order.order_number'],
      ['order_number', { x: 1 }, 'body.data.order.order_number'],
      ['order_number', ['A', 'B'], 'body.data.order.order_number'],
      ['pickup_date', undefined, 'body.data.order.pickup_date'],
    ];
    for (const [key, value, field] of cases) {
      const res = await send({
        type: 'order.created',
        customer_id: 'ev-blank',
        data: { ...data, order: { ...data.order, [key]: value } },
      });
      assert.deepEqual(await problem(res), [field], JSON.stringify(value));
    }
    const picked = sample('order_picked_up') as { order: Record<string, unknown> };
    const count = await send({
      type: 'order.status_changed',
      customer_id: 'ev-blank',
      data: { ...picked, status: 'picked_up', order: { ...picked.order, items_count: '6' } },
    });
    assert.deepEqual(await problem(count), ['body.data.order.items_count']);
    const rows = await t.database.db.select().from(notifications).where(eq(notifications.userId, user.id));
    assert.equal(rows.length, 0);
  });

  test('order.status_changed without a status is a 400 naming data.status', async () => {
    for (const status of [undefined, null, 3, '']) {
      const res = await send({
        type: 'order.status_changed',
        customer_id: 'x',
        data: { ...sample('order_confirmed'), status },
      });
      assert.deepEqual(await problem(res), ['body.data.status'], String(status));
    }
  });

  test('an unknown top-level field is a 400 naming that field', async () => {
    const res = await send({
      type: 'payment.completed',
      customer_id: 'x',
      data: sample('payment_completed'),
      colour: 'blue',
    });
    assert.deepEqual(await problem(res), ['body.colour']);
  });

  test('Hindi and Tamil SMS reach the sandbox byte for byte', async () => {
    for (const locale of ['hi', 'ta']) {
      const user = await smsUser(
        t.database.db,
        `ev-${locale}`,
        locale === 'hi' ? '+919876500101' : '+919876500102',
        locale,
      );
      const data = sample('payment_completed');
      const res = await send({ type: 'payment.completed', customer_id: user.externalId, data });
      const id = ((await res.json()) as { notifications: Array<{ notification_id: string }> })
        .notifications[0]!.notification_id;
      const d = await waitForSmsStatus(t.database.db, id, 'delivered');
      const expected = await composeSms(app.templates, DEFAULT_SMS_PRICES, {
        type: 'payment_completed',
        to: user.phone!,
        user: { ...user },
        context: data,
      });
      const received = await waitFor(async () =>
        app.sms.sandbox!.messages().find((m) => m.sid === d.providerMessageId),
      );
      assert.equal(Buffer.compare(Buffer.from(received.body, 'utf8'), Buffer.from(expected.body, 'utf8')), 0);
      assert.match(received.body, locale === 'hi' ? /[\u0900-\u097F]/ : /[\u0B80-\u0BFF]/);
      assert.equal((d.details as Record<string, unknown>)['encoding'], 'UCS-2');
    }
  });
});
