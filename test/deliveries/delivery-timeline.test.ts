import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deliveries, deliveryStatusHistory, notifications } from '../../src/db/schema.ts';
import { notificationTimeline } from '../../src/deliveries/delivery-timeline.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

describe(`a notification's delivery timeline (${ENGINE})`, () => {
  let t: TestDatabase;

  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t?.close();
  });

  test('each delivery with its history in order, codes with their meaning, next attempt only while queued', async () => {
    const db = t.database.db;
    const user = await insertUser(db, 'tl-user');
    const [n] = await db
      .insert(notifications)
      .values({
        notificationId: 'n-tl-1',
        userId: user.id,
        type: 'order_confirmed',
        category: 'order_updates',
        priority: 'regular',
        title: 'Order ORD1 confirmed',
        message: 'Pickup tomorrow',
        context: { order: { order_number: 'ORD1' } },
      })
      .returning();
    const due = new Date('2026-12-02T11:00:00Z');
    const [sms, , email] = await db
      .insert(deliveries)
      .values([
        {
          notificationId: n!.id,
          channel: 'sms',
          status: 'queued',
          attempts: 1,
          maxAttempts: 3,
          nextAttemptAt: due,
          errorCode: '30003',
          providerMessageId: 'SMtl1',
          providerStatus: 'undelivered',
          costAmount: '0.00750',
          costCurrency: 'USD',
          details: { encoding: 'GSM-7', segments: 1 },
          metadata: { sms: { sent: true, message_sid: 'SMtl1' } },
        },
        {
          notificationId: n!.id,
          channel: 'in_app',
          status: 'delivered',
          attempts: 1,
          maxAttempts: 1,
          nextAttemptAt: due,
        },
        {
          notificationId: n!.id,
          channel: 'email',
          status: 'skipped',
          skipReason: 'no_email',
          maxAttempts: 3,
        },
      ])
      .returning();
    await db.insert(deliveryStatusHistory).values([
      { deliveryId: sms!.id, fromStatus: null, toStatus: 'queued' },
      { deliveryId: sms!.id, fromStatus: 'queued', toStatus: 'sending', detail: 'attempt 1' },
      { deliveryId: sms!.id, fromStatus: 'sending', toStatus: 'sent', providerStatus: 'queued' },
      {
        deliveryId: sms!.id,
        fromStatus: 'sent',
        toStatus: 'queued',
        providerStatus: 'undelivered',
        errorCode: '30003',
        detail: 'retry at 11:00',
      },
      { deliveryId: email!.id, fromStatus: null, toStatus: 'skipped', errorCode: 'NO_SUCH_CODE_EVER' },
    ]);

    const tl = await notificationTimeline(db, 'n-tl-1');
    assert.ok(tl);
    assert.equal(tl.userId, 'tl-user');
    assert.equal(tl.title, 'Order ORD1 confirmed');
    assert.deepEqual(
      tl.deliveries.map((d) => [d.channel, d.status]),
      [
        ['sms', 'queued'],
        ['in_app', 'delivered'],
        ['email', 'skipped'],
      ],
    );
    const [s, i, e] = tl.deliveries;
    assert.deepEqual(
      s!.steps.map((x) => [x.from, x.to, x.providerStatus]),
      [
        [null, 'queued', null],
        ['queued', 'sending', null],
        ['sending', 'sent', 'queued'],
        ['sent', 'queued', 'undelivered'],
      ],
    );
    assert.equal(s!.steps[3]!.error?.code, '30003');
    assert.equal(s!.steps[3]!.error?.known, true);
    assert.equal(s!.steps[3]!.detail, 'retry at 11:00');
    assert.equal(s!.error?.class, 'retryable');
    assert.equal(s!.nextAttemptAt?.toISOString(), due.toISOString());
    assert.deepEqual(s!.cost, { amount: 0.0075, currency: 'USD' });
    assert.equal(s!.providerMessageId, 'SMtl1');
    assert.deepEqual(s!.details, { encoding: 'GSM-7', segments: 1 });
    assert.deepEqual(s!.metadata, { sms: { sent: true, message_sid: 'SMtl1' } });
    assert.equal(i!.nextAttemptAt, null, 'no next attempt once delivered');
    assert.equal(i!.steps.length, 0);
    assert.equal(e!.skipReason?.code, 'no_email');
    assert.equal(e!.skipReason?.class, 'skip');
    assert.equal(e!.steps[0]!.error?.known, false);
    assert.equal(await notificationTimeline(db, 'n-tl-missing'), undefined);
  });
});
