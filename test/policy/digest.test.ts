import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { deliveries, notifications } from '../../src/db/schema.ts';
import { retryPolicies } from '../../src/deliveries/retry-policy.ts';
import { flushDigests } from '../../src/digest/digest-flusher.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { deliveryPolicyConfig } from '../../src/preferences/delivery-policy.ts';
import { insertUser, waitFor } from '../helpers/fixtures.ts';
import { startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const HOUR = 3_600_000;

describe(`digest of non-urgent notifications (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, { QUIET_HOURS_DEFAULT: 'off', DIGEST_WINDOW_MS: String(HOUR) });
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
        availableChannels: new Set(['in_app', 'email'] as const),
        policy: deliveryPolicyConfig(app.config),
      },
      {
        userId,
        type,
        context: getNotificationType(type)!.sampleContext,
        // Now, not after review_request's 2 h delay: an explicit send_at wins over it.
        ...(type === 'review_request' && { sendAt: new Date().toISOString() }),
      },
    );
    return notificationId;
  }
  const emailRows = (userId: number) =>
    db()
      .select({ d: deliveries })
      .from(deliveries)
      .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
      .where(eq(notifications.userId, userId))
      .then((rows) => rows.map((r) => r.d));
  const mailsTo = (address: string) =>
    app.email.capture!.messages().filter((m) => m.envelope.to.includes(address));

  test('5 digest notifications: in-app at once, one email listing all 5 after the window', async () => {
    const user = await insertUser(db(), 'digest-user', { email: 'digest@example.com' });
    const types = ['promo_offer', 'review_request', 'promo_offer', 'review_request', 'promo_offer'];
    for (const type of types) await create('digest-user', type);

    await waitFor(
      async () =>
        (await emailRows(user.id)).filter((d) => d.channel === 'in_app' && d.status === 'delivered')
          .length === 5,
      10_000,
      'in-app deliveries',
    );
    const held = (await emailRows(user.id)).filter((d) => d.channel === 'email');
    assert.equal(held.length, 5);
    assert.ok(
      held.every((d) => d.status === 'queued' && d.nextAttemptAt === null),
      'email is held',
    );
    assert.equal(await flushDigests(db(), { windowMs: HOUR }), 0, 'the window has not passed');

    assert.equal(await flushDigests(db(), { windowMs: HOUR, now: new Date(Date.now() + HOUR + 1000) }), 1);
    await waitFor(async () => mailsTo('digest@example.com').length >= 1, 10_000, 'the digest email');
    const [mail] = mailsTo('digest@example.com');
    assert.equal(mail?.subject, 'Your LaundryConnect updates (5)');
    assert.equal(mail?.text?.match(/^- /gm)?.length, 5);
    assert.match(mail?.text ?? '', /15% off your next order/);
    // Each item links to its page: the two review requests to their order's review page.
    assert.equal(
      mail?.text?.match(/^ {2}https:\/\/laundryconnect\.com\/orders\/LC240117\/review$/gm)?.length,
      2,
    );
    assert.equal(
      mail?.html?.match(/<a href="https:\/\/laundryconnect\.com\/orders\/LC240117\/review"/g)?.length,
      2,
    );

    const emails = (await emailRows(user.id)).filter((d) => d.channel === 'email');
    await waitFor(async () => {
      const rows = (await emailRows(user.id)).filter((d) => d.channel === 'email');
      return rows.some((d) => d.status === 'sent' || d.status === 'delivered');
    });
    assert.equal(emails.filter((d) => d.status === 'skipped' && d.skipReason === 'digested').length, 4);
    // Nothing else arrives: one email for five notifications.
    assert.equal(await flushDigests(db(), { windowMs: HOUR, now: new Date(Date.now() + 2 * HOUR) }), 0);
    assert.equal(mailsTo('digest@example.com').length, 1);
  });

  test('a digest of one is the ordinary email of that notification', async () => {
    await insertUser(db(), 'digest-one', { email: 'digest-one@example.com' });
    await create('digest-one', 'promo_offer');
    assert.equal(await flushDigests(db(), { windowMs: HOUR, now: new Date(Date.now() + HOUR + 1000) }), 1);
    await waitFor(async () => mailsTo('digest-one@example.com').length === 1, 10_000, 'the email');
    assert.match(mailsTo('digest-one@example.com')[0]?.subject ?? '', /15% off your next pickup/);
  });
});
