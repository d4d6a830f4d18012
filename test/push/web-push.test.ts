import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { importJWK, jwtVerify } from 'jose';
import type { RunningApp } from '../../src/app.ts';
import {
  deliveries,
  notificationPreferences,
  notifications,
  pushSubscriptions,
  users,
} from '../../src/db/schema.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { call, notifyOverHttp, userWithToken } from '../inbox/helpers.ts';
import { type BrowserKeys, browserKeys, decryptPush, startPushService } from './push-service.ts';

describe(`Web Push (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let url: string;
  let pushService: Awaited<ReturnType<typeof startPushService>>;
  before(async () => {
    t = await createTestDatabase();
    pushService = await startPushService();
    app = await startSmsApp(t, { PUSH_ALLOW_HTTP_ENDPOINTS: 'true' });
    url = app.url!;
  });
  after(async () => {
    await app.close();
    await pushService.close();
    await t.close();
  });
  const db = () => t.database.db;

  const subscribe = async (token: string, path: string, keys: BrowserKeys = browserKeys()) => {
    const res = await call(url, 'POST', '/api/v1/push/subscriptions', {
      token,
      body: {
        endpoint: pushService.url + path,
        expirationTime: null,
        keys: { p256dh: keys.p256dh, auth: keys.auth },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return keys;
  };

  const pushDelivery = (notificationId: string) =>
    db()
      .select({ d: deliveries })
      .from(deliveries)
      .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
      .where(and(eq(notifications.notificationId, notificationId), eq(deliveries.channel, 'push')))
      .then((rows) => rows[0]!.d);

  const waitForPush = (id: string, pred: (d: typeof deliveries.$inferSelect) => boolean, label: string) =>
    waitFor(
      async () => {
        const d = await pushDelivery(id);
        return pred(d) ? d : undefined;
      },
      10_000,
      label,
    );

  test('a subscribed browser gets the push template, encrypted for it; the test decrypts it', async () => {
    const token = await userWithToken(url, 'push-ok');
    const keys = await subscribe(token, '/push/ok');
    const id = await notifyOverHttp(url, 'push-ok');
    const d = await waitForPush(id, (x) => x.status === 'sent', 'push sent');
    assert.equal(d.providerStatus, 'accepted');
    assert.equal(d.providerMessageId, '/push/ok/messages/1');

    const push = pushService.received.find((r) => r.path === '/push/ok')!;
    assert.equal(push.headers['content-encoding'], 'aes128gcm');
    assert.equal(push.headers['ttl'], '86400');
    const message = JSON.parse(decryptPush(push.body, keys));
    assert.deepEqual(message, {
      title: 'Order confirmed',
      body: 'Pickup scheduled for Sat 18 Jan, 9-11 AM. Order #LC240117.',
      notification_id: id,
      type: 'order_confirmed',
    });
    // What the browser showed, kept on the delivery for the console.
    assert.deepEqual(d.details, { content: { title: message.title, body: message.body } });

    // The VAPID token is signed with the key the browser subscribed with, for this push service.
    const { public_key } = (await call(url, 'GET', '/api/v1/push/vapid-public-key')).body;
    const [, jwt, k] = /^vapid t=([^,]+), k=(.+)$/.exec(String(push.headers['authorization']))!;
    assert.equal(k, public_key);
    const point = Buffer.from(public_key, 'base64url');
    const key = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      'ES256',
    );
    const { payload } = await jwtVerify(jwt!, key, { audience: pushService.url });
    assert.equal(payload.sub, 'mailto:support@laundryconnect.com');

    // The seed's notification.metadata, as the API shows it.
    const view = await call(url, 'GET', `/api/v1/notifications/${id}`, { token: ADMIN_KEY });
    assert.equal(view.status, 200);
    assert.deepEqual(
      { ...(view.body['metadata']['push'] as object), sent_at: 'x' },
      {
        sent: true,
        subscriptions: 1,
        accepted: 1,
        removed: 0,
        errors: [],
        sent_at: 'x',
      },
    );
  });

  test('push is off until a subscription exists; an explicit opt-out wins over a subscription', async () => {
    await userWithToken(url, 'push-none');
    const none = await pushDelivery(await notifyOverHttp(url, 'push-none'));
    assert.equal(none.status, 'skipped');
    assert.equal(none.skipReason, 'disabled_by_user', 'the default, as SMS opt-in');

    // Turned on explicitly but no browser to send to: a reason that says so.
    await userWithToken(url, 'push-on');
    const [on] = await db().select().from(users).where(eq(users.externalId, 'push-on'));
    await db()
      .insert(notificationPreferences)
      .values({ userId: on!.id, category: 'order_updates', channel: 'push', enabled: true });
    const noBrowser = await pushDelivery(await notifyOverHttp(url, 'push-on'));
    assert.equal(noBrowser.skipReason, 'no_push_subscription');

    const token = await userWithToken(url, 'push-off');
    await subscribe(token, '/push/off');
    const [user] = await db().select().from(users).where(eq(users.externalId, 'push-off'));
    await db()
      .insert(notificationPreferences)
      .values({ userId: user!.id, category: 'order_updates', channel: 'push', enabled: false });
    const off = await pushDelivery(await notifyOverHttp(url, 'push-off'));
    assert.equal(off.skipReason, 'disabled_by_user');
    assert.ok(!pushService.received.some((r) => r.path === '/push/off'));
  });

  test('410 from the push service removes the subscription', async () => {
    const token = await userWithToken(url, 'push-gone');
    pushService.statusFor.set('/push/gone', 410);
    await subscribe(token, '/push/gone');
    const id = await notifyOverHttp(url, 'push-gone');
    const d = await waitForPush(id, (x) => x.status === 'failed', 'push failed');
    assert.equal(d.errorCode, 'PUSH_SUBSCRIPTION_GONE');
    const left = await db()
      .select()
      .from(pushSubscriptions)
      .where(eq(pushSubscriptions.endpoint, `${pushService.url}/push/gone`));
    assert.deepEqual(left, []);
  });

  test('a key that is not a P-256 point or an auth secret of the wrong size is a 400 naming the field', async () => {
    const token = await userWithToken(url, 'push-bad-keys');
    const good = browserKeys();
    const point = Buffer.from(good.p256dh, 'base64url');
    const compressed = Buffer.concat([Buffer.from([2 + (point[64]! & 1)]), point.subarray(1, 33)]);
    const cases: Array<[string, { p256dh: string; auth: string }, string]> = [
      [
        '65 bytes of 0x04: not on the curve',
        { ...good, p256dh: Buffer.alloc(65, 4).toString('base64url') },
        'body.keys.p256dh',
      ],
      ['a compressed point', { ...good, p256dh: compressed.toString('base64url') }, 'body.keys.p256dh'],
      [
        'a point with a wrong prefix',
        { ...good, p256dh: Buffer.concat([Buffer.from([5]), point.subarray(1)]).toString('base64url') },
        'body.keys.p256dh',
      ],
      ['a 15-byte auth', { ...good, auth: Buffer.alloc(15, 1).toString('base64url') }, 'body.keys.auth'],
    ];
    for (const [what, keys, field] of cases) {
      const res = await call(url, 'POST', '/api/v1/push/subscriptions', {
        token,
        body: { endpoint: `${pushService.url}/push/bad-keys`, keys },
      });
      assert.equal(res.status, 400, what);
      assert.equal(res.body.code, 'VALIDATION_FAILED', what);
      assert.ok(String(res.body.detail).includes(field), `${what}: ${res.body.detail}`);
    }
    const stored = await db()
      .select()
      .from(pushSubscriptions)
      .where(eq(pushSubscriptions.endpoint, `${pushService.url}/push/bad-keys`));
    assert.deepEqual(stored, [], 'nothing was stored');
  });

  test('a subscription stored with unusable keys (before they were checked) fails once and is removed', async () => {
    await userWithToken(url, 'push-old-bad-key');
    const [user] = await db().select().from(users).where(eq(users.externalId, 'push-old-bad-key'));
    const endpoint = `${pushService.url}/push/old-bad-key`;
    await db()
      .insert(pushSubscriptions)
      .values({
        userId: user!.id,
        endpoint,
        p256dh: Buffer.alloc(65, 4).toString('base64url'),
        auth: browserKeys().auth,
      });
    const id = await notifyOverHttp(url, 'push-old-bad-key');
    const d = await waitForPush(id, (x) => x.status === 'failed', 'push failed');
    assert.equal(d.errorCode, 'PUSH_SUBSCRIPTION_INVALID');
    assert.equal(d.attempts, 1, 'not retried');
    assert.deepEqual(
      await db().select().from(pushSubscriptions).where(eq(pushSubscriptions.endpoint, endpoint)),
      [],
    );
    assert.ok(!pushService.received.some((r) => r.path === '/push/old-bad-key'));
  });

  test('500 from the push service is retried later', async () => {
    const token = await userWithToken(url, 'push-flaky');
    pushService.statusFor.set('/push/flaky', 500);
    await subscribe(token, '/push/flaky');
    const id = await notifyOverHttp(url, 'push-flaky');
    const d = await waitForPush(id, (x) => x.attempts === 1 && x.status === 'queued', 'push requeued');
    assert.equal(d.errorCode, 'PUSH_SERVICE_ERROR');
    assert.ok(d.nextAttemptAt!.getTime() > Date.now(), 'the retry is scheduled in the future');
    assert.equal(
      (
        await db()
          .select()
          .from(pushSubscriptions)
          .where(eq(pushSubscriptions.endpoint, `${pushService.url}/push/flaky`))
      ).length,
      1,
    );
  });

  test("subscribe and unsubscribe: own token or API key; another user's is 404; bad keys 400", async () => {
    const tokenA = await userWithToken(url, 'push-a');
    await userWithToken(url, 'push-b');
    const keys = browserKeys();
    const body = { endpoint: `${pushService.url}/push/b`, keys: { p256dh: keys.p256dh, auth: keys.auth } };
    const forB = await call(url, 'POST', '/api/v1/push/subscriptions?user_id=push-b', {
      token: tokenA,
      body,
    });
    assert.equal(forB.status, 404);
    assert.equal(forB.body.code, 'USER_NOT_FOUND');

    const byKey = await call(url, 'POST', '/api/v1/push/subscriptions?user_id=push-b', {
      token: ADMIN_KEY,
      body,
    });
    assert.equal(byKey.status, 201);
    const delByA = await call(url, 'DELETE', '/api/v1/push/subscriptions', {
      token: tokenA,
      body: { endpoint: body.endpoint },
    });
    assert.equal(delByA.status, 404, "A cannot remove B's subscription");
    const del = await call(url, 'DELETE', '/api/v1/push/subscriptions?user_id=push-b', {
      token: ADMIN_KEY,
      body: { endpoint: body.endpoint },
    });
    assert.equal(del.status, 204);

    const badKeys = await call(url, 'POST', '/api/v1/push/subscriptions', {
      token: tokenA,
      body: { ...body, keys: { p256dh: 'short', auth: keys.auth } },
    });
    assert.equal(badKeys.status, 400);
    const noAuth = await call(url, 'POST', '/api/v1/push/subscriptions', { body });
    assert.equal(noAuth.status, 401);
  });
});
