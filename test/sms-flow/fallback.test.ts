import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { TestClock } from '../../src/clock.ts';
import { deliveries, notificationPreferences, notifications } from '../../src/db/schema.ts';
import { retryPolicies } from '../../src/deliveries/retry-policy.ts';
import {
  type CreateNotificationDeps,
  createNotification,
} from '../../src/notifications/create-notification.ts';
import { FallbackPass } from '../../src/notifications/fallback-pass.ts';
import { getNotificationView } from '../../src/notifications/notification-view.ts';
import { deliveryPolicyConfig } from '../../src/preferences/delivery-policy.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { smsUser } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

/**
 * The fallback rule end to end: order_out_for_delivery falls back from SMS to email (catalog.ts)
 * when the SMS fails for good. The pass runs on the app's TestClock: a test steps it and waits for
 * the rows and the captured email.
 */

const POLL_MS = 1000;
const TYPE = 'order_out_for_delivery';

describe(`fallback from SMS to email (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const clock = new TestClock();
  before(async () => {
    t = await createTestDatabase();
    app = await startApp({
      config: testConfig({
        PORT: '0',
        SANDBOX_STEP_MS: '20',
        SMS_REQUEST_TIMEOUT_MS: '2000',
        WORKER_POLL_MS: String(POLL_MS),
        // One attempt: a retryable status failure spends the budget at once (provider_failed).
        SMS_MAX_RETRIES: '0',
      }),
      api: true,
      worker: true,
      database: t.database,
      clock,
    });
  });
  after(async () => {
    await app.close();
    await t.close();
  });
  const db = () => t.database.db;
  const deps = (): CreateNotificationDeps => ({
    db: db(),
    templates: app.templates,
    retryPolicies: retryPolicies(app.config),
    availableChannels: new Set(['in_app', 'sms', 'email', 'push']),
    policy: deliveryPolicyConfig(app.config),
    now: () => new Date(clock.now()),
  });
  const mailsTo = (address: string) =>
    app.email.capture!.messages().filter((m) => m.envelope.to.includes(address));

  async function notify(userId: string) {
    const { notificationId } = await createNotification(deps(), {
      userId,
      type: TYPE,
      context: getNotificationType(TYPE)!.sampleContext,
    });
    return notificationId;
  }
  async function delivery(notificationId: string, channel: string) {
    const [row] = await db()
      .select({ d: deliveries })
      .from(deliveries)
      .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
      .where(and(eq(notifications.notificationId, notificationId), eq(deliveries.channel, channel)));
    return row?.d;
  }
  const failedSms = (id: string, code: string) =>
    waitFor(
      async () => {
        const d = await delivery(id, 'sms');
        return d?.status === 'failed' && d.errorCode === code ? d : undefined;
      },
      15_000,
      `the SMS failed with ${code}`,
    );
  /** Steps the clock a poll at a time (each step runs the app's pass) until the fallback email exists. */
  const fallbackEmail = (id: string) =>
    waitFor(
      async () => {
        clock.advance(POLL_MS);
        return delivery(id, 'email');
      },
      15_000,
      'the fallback email delivery',
    );
  async function timeline(id: string, channel: string) {
    const view = await getNotificationView(db(), id);
    return view!.deliveries.find((d) => d.channel === channel)!;
  }

  test('an invalid number (21211 at the request) falls back to email once, linked both ways', async () => {
    const phone = '+919876511001';
    app.sms.sandbox!.setFaults({ byNumber: { [phone]: { createError: 21211 } } });
    try {
      await smsUser(db(), 'fb-21211', phone);
      const id = await notify('fb-21211');
      const sms = await failedSms(id, '21211');
      const email = await fallbackEmail(id);
      await waitFor(async () => mailsTo('fb-21211@example.com').length === 1, 15_000, 'the email');
      assert.match(mailsTo('fb-21211@example.com')[0]!.subject ?? '', /is out for delivery/);

      // The API's delivery view: details and the history line on each side.
      const smsView = await timeline(id, 'sms');
      const emailView = await timeline(id, 'email');
      assert.deepEqual(smsView.details?.['fallback_to'], { delivery_id: email.id, channel: 'email' });
      assert.deepEqual(emailView.details?.['fallback_from'], {
        delivery_id: sms.id,
        channel: 'sms',
        error_code: '21211',
      });
      const link = smsView.history.at(-1)!;
      assert.deepEqual(
        [link.from, link.to, link.detail],
        ['failed', 'failed', `fell back to email: delivery ${email.id}`],
      );
      const first = emailView.history[0]!;
      assert.deepEqual(
        [first.from, first.to, first.detail],
        [null, 'queued', `fallback from sms (delivery ${sms.id}, 21211)`],
      );

      // Once: more passes of the app's, and of a restarted process's (a new pass looks an hour
      // back). Counted on this notification's rows: a pass may act on other tests' failures.
      clock.advance(POLL_MS);
      const restarted = new FallbackPass(deps());
      await restarted.run();
      await restarted.run();
      const again = await getNotificationView(db(), id);
      assert.equal(again!.deliveries.filter((d) => d.channel === 'email').length, 1);
      assert.equal(
        again!.deliveries.flatMap((d) => d.history).filter((h) => h.detail?.startsWith('fell back')).length,
        1,
      );
      assert.equal(mailsTo('fb-21211@example.com').length, 1);
    } finally {
      app.sms.sandbox!.setFaults({});
    }
  });

  test('a permanent failure reported later (30005 undelivered) falls back too', async () => {
    const phone = '+919876511002';
    app.sms.sandbox!.setFaults({
      byNumber: { [phone]: { finalStatus: 'undelivered', errorCode: 30005 } },
    });
    try {
      await smsUser(db(), 'fb-30005', phone);
      const id = await notify('fb-30005');
      const sms = await failedSms(id, '30005');
      const email = await fallbackEmail(id);
      assert.deepEqual(email.details?.['fallback_from'], {
        delivery_id: sms.id,
        channel: 'sms',
        error_code: '30005',
      });
      await waitFor(async () => mailsTo('fb-30005@example.com').length === 1, 15_000, 'the email');
    } finally {
      app.sms.sandbox!.setFaults({});
    }
  });

  test('a retryable failure with its budget spent (30003) does not fall back', async () => {
    const phone = '+919876511003';
    app.sms.sandbox!.setFaults({
      byNumber: { [phone]: { finalStatus: 'undelivered', errorCode: 30003 } },
    });
    try {
      await smsUser(db(), 'fb-30003', phone);
      const id = await notify('fb-30003');
      const sms = await failedSms(id, '30003');
      // A pass that starts after the failure committed has read it, and leaves it.
      await new FallbackPass(deps()).run();
      assert.equal(await delivery(id, 'email'), undefined);
      assert.equal((await delivery(id, 'sms'))!.details?.['fallback_to'], undefined);
      assert.equal(sms.status, 'failed');
    } finally {
      app.sms.sandbox!.setFaults({});
    }
  });

  test("the fallback respects the target channel's preference: email off for the category → skipped", async () => {
    const phone = '+919876511004';
    app.sms.sandbox!.setFaults({ byNumber: { [phone]: { createError: 21211 } } });
    try {
      const user = await smsUser(db(), 'fb-no-email', phone);
      await db()
        .insert(notificationPreferences)
        .values({ userId: user.id, category: 'order_updates', channel: 'email', enabled: false });
      const id = await notify('fb-no-email');
      const sms = await failedSms(id, '21211');
      const email = await fallbackEmail(id);
      assert.equal(email.status, 'skipped');
      assert.equal(email.skipReason, 'disabled_by_user');
      const emailView = await timeline(id, 'email');
      assert.equal(
        emailView.history[0]!.detail,
        `fallback from sms (delivery ${sms.id}, 21211): User has disabled email notifications`,
      );
      assert.equal(
        (await timeline(id, 'sms')).history.at(-1)!.detail,
        `fell back to email: delivery ${email.id}`,
      );
      assert.equal(mailsTo('fb-no-email@example.com').length, 0);
    } finally {
      app.sms.sandbox!.setFaults({});
    }
  });
});
