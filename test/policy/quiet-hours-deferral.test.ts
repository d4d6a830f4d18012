import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { deliveries, notifications, users } from '../../src/db/schema.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { deliveryPolicyConfig } from '../../src/preferences/delivery-policy.ts';
import { notificationDeps, testConfig } from '../helpers/fixtures.ts';
import { smsUser } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

describe(`quiet hours defer regular SMS and push at creation (${ENGINE})`, () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(() => t.close());
  const db = () => t.database.db;

  async function create(userId: string, type: string, at: string) {
    const deps = {
      ...notificationDeps(db(), ['in_app', 'sms', 'email', 'push']),
      policy: deliveryPolicyConfig(testConfig({ QUIET_HOURS_DEFAULT: '21:00-08:00' })),
      now: () => new Date(at),
    };
    const { notificationId } = await createNotification(deps, {
      userId,
      type,
      context: getNotificationType(type)!.sampleContext,
    });
    const rows = await db()
      .select({ channel: deliveries.channel, status: deliveries.status, next: deliveries.nextAttemptAt })
      .from(deliveries)
      .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
      .where(eq(notifications.notificationId, notificationId));
    return Object.fromEntries(rows.map((r) => [r.channel, r.next?.toISOString() ?? null]));
  }

  test('Asia/Kolkata: a regular SMS at 23:00 IST waits until 08:00 IST; in-app goes at once', async () => {
    await smsUser(db(), 'qh-kolkata');
    const at = '2026-01-10T17:30:00.000Z'; // 23:00 IST
    const next = await create('qh-kolkata', 'order_picked_up', at);
    assert.equal(next['sms'], '2026-01-11T02:30:00.000Z');
    assert.equal(next['in_app'], at);
    assert.equal(next['email'], at);
  });

  test('a critical SMS inside quiet hours goes at once', async () => {
    const at = '2026-01-10T17:30:00.000Z';
    const next = await create('qh-kolkata', 'order_confirmed', at);
    assert.equal(next['sms'], at);
  });

  test('America/New_York across the spring-forward night: 08:00 EDT is 12:00Z', async () => {
    const user = await smsUser(db(), 'qh-newyork');
    await db().update(users).set({ timeZone: 'America/New_York' }).where(eq(users.id, user.id));
    const next = await create('qh-newyork', 'order_ready', '2026-03-08T03:30:00.000Z'); // 22:30 EST, Mar 7
    assert.equal(next['sms'], '2026-03-08T12:00:00.000Z');
    const fall = await create('qh-newyork', 'order_ready', '2026-11-01T03:30:00.000Z'); // 23:30 EDT, Oct 31
    assert.equal(fall['sms'], '2026-11-01T13:00:00.000Z');
  });

  test('outside quiet hours a regular SMS is due at once', async () => {
    const at = '2026-01-10T06:30:00.000Z'; // 12:00 IST
    assert.equal((await create('qh-kolkata', 'order_picked_up', at))['sms'], at);
  });
});
