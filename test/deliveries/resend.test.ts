import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import {
  type DeliveryStatus,
  deliveries,
  deliveryStatusHistory,
  notifications,
} from '../../src/db/schema.ts';
import { resendFailedDelivery } from '../../src/deliveries/resend.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

describe(`resending a failed delivery (${ENGINE})`, () => {
  let t: TestDatabase;
  let seq = 0;

  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t?.close();
  });

  async function deliveryIn(status: DeliveryStatus) {
    const user = await insertUser(t.database.db, `resend-${++seq}`);
    const [n] = await t.database.db
      .insert(notifications)
      .values({
        notificationId: `n-resend-${seq}`,
        userId: user.id,
        type: 'order_confirmed',
        category: 'order_updates',
        priority: 'regular',
        title: 't',
        message: 'm',
      })
      .returning();
    const [d] = await t.database.db
      .insert(deliveries)
      .values({
        notificationId: n!.id,
        channel: 'sms',
        status,
        attempts: 3,
        maxAttempts: 3,
        errorCode: '30003',
        failedAt: new Date(),
      })
      .returning();
    return d!.id;
  }

  const row = async (id: number) =>
    (await t.database.db.select().from(deliveries).where(eq(deliveries.id, id)))[0]!;
  const history = (id: number) =>
    t.database.db.select().from(deliveryStatusHistory).where(eq(deliveryStatusHistory.deliveryId, id));

  test('a failed delivery is queued, due now, with one send left, and its history says who resent it', async () => {
    const id = await deliveryIn('failed');
    const now = new Date('2026-12-02T10:00:00.000Z');
    const r = await resendFailedDelivery(t.database.db, id, 'resent from the console by ops', now);
    assert.deepEqual(r, {
      id,
      channel: 'sms',
      before: { status: 'failed', attempts: 3, error_code: '30003' },
      after: { status: 'queued', attempts: 2, next_attempt_at: '2026-12-02T10:00:00.000Z' },
    });
    const d = await row(id);
    assert.equal(d.status, 'queued');
    assert.equal(d.attempts, 2, 'the next claim is attempt 3 of 3: a send, not a lookup');
    assert.equal(d.nextAttemptAt?.toISOString(), now.toISOString());
    assert.equal(d.failedAt, null);
    const [h] = await history(id);
    assert.equal(h?.fromStatus, 'failed');
    assert.equal(h?.toStatus, 'queued');
    assert.equal(h?.detail, 'resent from the console by ops');
  });

  test('two resends at once make one; a delivery that is not failed is left alone', async () => {
    const id = await deliveryIn('failed');
    const both = await Promise.all(
      [1, 2].map(() =>
        t.database.db.transaction((tx) => resendFailedDelivery(tx, id, 'concurrent', new Date())),
      ),
    );
    assert.equal(both.filter((r) => r !== undefined).length, 1);
    assert.equal((await history(id)).length, 1);
    for (const status of ['queued', 'sending', 'sent', 'delivered', 'skipped'] as const) {
      const other = await deliveryIn(status);
      assert.equal(await resendFailedDelivery(t.database.db, other, 'no', new Date()), undefined, status);
      assert.equal((await row(other)).status, status);
      assert.equal((await history(other)).length, 0);
    }
  });
});
