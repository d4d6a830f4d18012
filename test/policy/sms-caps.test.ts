import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { deliveries, notifications } from '../../src/db/schema.ts';
import { retryPolicies } from '../../src/deliveries/retry-policy.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { deliveryPolicyConfig } from '../../src/preferences/delivery-policy.ts';
import { capPeriodStarts, isOverCap } from '../../src/preferences/sms-caps.ts';
import { budgetStatus, checkSmsBudget, thresholdsReached } from '../../src/stats/sms-budget.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

describe('cap arithmetic (pure)', () => {
  test("periods start at the user's local midnight and first of the month", () => {
    // 01:30 on 1 Feb in Kolkata is still 31 Jan in UTC.
    const starts = capPeriodStarts(new Date('2026-01-31T20:00:00Z'), 'Asia/Kolkata');
    assert.equal(starts.day.toISOString(), '2026-01-31T18:30:00.000Z');
    assert.equal(starts.month.toISOString(), '2026-01-31T18:30:00.000Z');
    const ny = capPeriodStarts(new Date('2026-03-08T15:00:00Z'), 'America/New_York');
    assert.equal(ny.day.toISOString(), '2026-03-08T05:00:00.000Z', 'midnight EST, before the DST change');
    assert.equal(ny.month.toISOString(), '2026-03-01T05:00:00.000Z');
  });

  test('over a cap when the day or month count has reached it; 0 means no cap', () => {
    const caps = { daily: 3, monthly: 10, exemptCritical: true };
    assert.equal(isOverCap(caps, { today: 2, thisMonth: 9 }), false);
    assert.equal(isOverCap(caps, { today: 3, thisMonth: 3 }), true);
    assert.equal(isOverCap(caps, { today: 0, thisMonth: 10 }), true);
    assert.equal(isOverCap({ ...caps, daily: 0, monthly: 0 }, { today: 99, thisMonth: 999 }), false);
  });

  test('budget thresholds at 80 % and 100 %', () => {
    assert.deepEqual(thresholdsReached(7.99, 10), []);
    assert.deepEqual(thresholdsReached(8, 10), [80]);
    assert.deepEqual(thresholdsReached(10.5, 10), [80, 100]);
  });
});

describe(`SMS caps and the daily budget (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, { SMS_DAILY_CAP_PER_USER: '2', QUIET_HOURS_DEFAULT: 'off' });
  });
  after(async () => {
    await app.close();
    await t.close();
  });
  const db = () => t.database.db;

  async function create(userId: string, type: string) {
    const { notificationId } = await createNotification(
      {
        db: db(),
        templates: app.templates,
        retryPolicies: retryPolicies(app.config),
        availableChannels: new Set(['in_app', 'sms', 'email'] as const),
        policy: deliveryPolicyConfig(app.config),
      },
      { userId, type, context: getNotificationType(type)!.sampleContext },
    );
    return notificationId;
  }
  const channelsOf = (notificationId: string) =>
    waitFor(
      async () => {
        const rows = await db()
          .select({ channel: deliveries.channel, status: deliveries.status, reason: deliveries.skipReason })
          .from(deliveries)
          .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
          .where(eq(notifications.notificationId, notificationId));
        const settled = rows.every((r) => ['delivered', 'skipped', 'sent'].includes(r.status));
        return (
          settled &&
          Object.fromEntries(rows.map((r) => [r.channel, `${r.status}${r.reason ? `:${r.reason}` : ''}`]))
        );
      },
      15_000,
      'deliveries to settle',
    );

  test('over the daily cap an SMS is skipped with cap_reached; in-app and email still go', async () => {
    await smsUser(db(), 'cap-user');
    const first = await channelsOf(await create('cap-user', 'order_picked_up'));
    assert.match(first['sms']!, /^(sent|delivered)$/);
    await create('cap-user', 'order_ready');
    const third = await channelsOf(await create('cap-user', 'order_picked_up'));
    assert.equal(third['sms'], 'skipped:cap_reached');
    assert.equal(third['in_app'], 'delivered');
    assert.match(third['email']!, /^(sent|delivered)$/);
  });

  test('critical types are exempt from the cap (SMS_CAP_EXEMPT_CRITICAL)', async () => {
    const critical = await channelsOf(await create('cap-user', 'order_confirmed'));
    assert.match(critical['sms']!, /^(sent|delivered)$/);
  });

  test('the daily budget alerts once at 80 % and once at 100 %, in the logs and the stats', async () => {
    const warnings: Array<[object, string]> = [];
    const logger = { warn: (obj: object, msg: string) => void warnings.push([obj, msg]) };
    const settings = { budget: 1, currency: 'USD' };
    const setSpend = (amount: number) =>
      db().execute(sql`update deliveries set cost_amount = ${amount}, cost_currency = 'USD', sent_at = now()
        where id = (select min(id) from deliveries where channel = 'sms' and status <> 'skipped')`);
    await db().execute(sql`update deliveries set cost_amount = 0 where channel = 'sms'`);
    await setSpend(0.5);
    assert.deepEqual(await checkSmsBudget(db(), settings, logger), []);
    await setSpend(0.85);
    assert.deepEqual(await checkSmsBudget(db(), settings, logger), [80]);
    assert.deepEqual(await checkSmsBudget(db(), settings, logger), [], 'raised once');
    await setSpend(1.2);
    assert.deepEqual(await checkSmsBudget(db(), settings, logger), [100]);
    assert.deepEqual(
      warnings.map(([, msg]) => msg),
      ['SMS spend reached 80% of the daily budget', 'SMS spend reached 100% of the daily budget'],
    );
    const status = await budgetStatus(db(), settings);
    assert.equal(status.spent, 1.2);
    assert.equal(status.percent, 120);
    assert.deepEqual(
      status.alerts.map((a) => a.threshold),
      [100, 80],
    );
  });
});
