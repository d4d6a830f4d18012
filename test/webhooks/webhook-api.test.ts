import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { type RunningApp, startApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { call, notifyOverHttp, userWithToken } from '../inbox/helpers.ts';
import { type Received, Receiver } from './receiver.ts';

interface Event {
  type: string;
  data: Record<string, unknown>;
}

describe(`webhooks end to end: the admin API and a real notification (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let receiver: Receiver;
  const admin = (method: string, path: string, body?: unknown) =>
    call(app.url!, method, path, { token: ADMIN_KEY, body });

  before(async () => {
    t = await createTestDatabase();
    receiver = await Receiver.start();
    app = await startApp({
      config: testConfig({
        PORT: '0',
        ADMIN_API_KEY: ADMIN_KEY,
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
        WEBHOOK_POLL_MS: '50',
        WORKER_POLL_MS: '50',
      }),
      api: true,
      worker: true,
      database: t.database,
    });
  });
  after(async () => {
    await app?.close();
    await receiver?.close();
    await t?.close();
  });

  /** The events received so far, verified with `secret` by the library. */
  const verifiedEvents = (secret: string, from = 0): Event[] =>
    receiver.received
      .slice(from)
      .map((r: Received) => new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as Event);

  test('register, a notification created over the API and delivered in-app, its webhooks received and verified', async () => {
    const created = await admin('POST', '/api/v1/webhook-endpoints', {
      url: receiver.url,
      event_types: ['notification.created', 'delivery.delivered'],
      description: 'marketplace backend',
    });
    assert.equal(created.status, 201);
    const secret = created.body.secret as string;
    assert.match(secret, /^whsec_/);
    const id = created.body.endpoint.id as number;
    const listed = await admin('GET', '/api/v1/webhook-endpoints');
    assert.equal(listed.body.endpoints.length, 1);
    assert.ok(!JSON.stringify(listed.body).includes(secret.slice(6)), 'the secret is shown once only');
    assert.ok(
      !JSON.stringify((await admin('GET', `/api/v1/webhook-endpoints/${id}`)).body).includes(secret.slice(6)),
    );

    await userWithToken(app.url!, 'wh-e2e');
    const notificationId = await notifyOverHttp(app.url!, 'wh-e2e');
    await receiver.nth(2);
    const events = verifiedEvents(secret);
    assert.deepEqual(events.map((e) => e.type).sort(), ['delivery.delivered', 'notification.created']);
    for (const e of events) {
      assert.equal(e.data['notification_id'], notificationId);
      assert.equal(e.data['user_id'], 'wh-e2e');
    }
    assert.equal(events.find((e) => e.type === 'delivery.delivered')!.data['channel'], 'in_app');

    // The attempt is recorded just after the receiver answered.
    await waitFor(
      async () => (await admin('GET', `/api/v1/webhook-endpoints/${id}/attempts`)).body.attempts.length === 2,
      10_000,
      'both attempts recorded',
    );
    const page1 = await admin('GET', `/api/v1/webhook-endpoints/${id}/attempts?limit=1`);
    assert.equal(page1.status, 200);
    assert.equal(page1.body.attempts.length, 1);
    assert.equal(page1.body.attempts[0].status_code, 204);
    const page2 = await admin(
      'GET',
      `/api/v1/webhook-endpoints/${id}/attempts?limit=1&before=${page1.body.next_before}`,
    );
    assert.equal(page2.body.attempts.length, 1);
    assert.equal(page2.body.next_before, null);
    assert.notEqual(page2.body.attempts[0].message_id, page1.body.attempts[0].message_id);

    const messageId = page1.body.attempts[0].message_id as string;
    const replay = await admin('POST', `/api/v1/webhook-messages/${messageId}/replay`, {});
    assert.equal(replay.status, 202);
    assert.equal(replay.body.requeued, 1);
    const again = await receiver.nth(3);
    assert.equal(
      again.headers['webhook-id'],
      messageId,
      'a replay keeps the webhook-id (receivers dedupe on it)',
    );
    assert.equal(
      (await admin('POST', '/api/v1/webhook-messages/msg_nope/replay', {})).body.code,
      'WEBHOOK_MESSAGE_NOT_FOUND',
    );
    await waitFor(
      async () => (await admin('GET', `/api/v1/webhook-endpoints/${id}/attempts`)).body.attempts.length === 3,
      10_000,
      'the replay recorded',
    );

    const rotated = await admin('POST', `/api/v1/webhook-endpoints/${id}/rotate-secret`, {
      overlap_seconds: 600,
    });
    assert.equal(rotated.status, 201);
    assert.ok(rotated.body.endpoint.previous_secret_until);
    const replayed = await admin('POST', `/api/v1/webhook-messages/${messageId}/replay`, { endpoint_id: id });
    assert.equal(replayed.status, 202);
    await receiver.nth(4);
    verifiedEvents(rotated.body.secret, 3);
    verifiedEvents(secret, 3);

    const off = await admin('PATCH', `/api/v1/webhook-endpoints/${id}`, { enabled: false });
    assert.equal(off.body.endpoint.enabled, false);
    assert.equal(off.body.endpoint.disabled_reason, 'disabled over the API');
    const on = await admin('PATCH', `/api/v1/webhook-endpoints/${id}`, { enabled: true, event_types: [] });
    assert.equal(on.body.endpoint.disabled_reason, null);
    assert.deepEqual(on.body.endpoint.event_types, []);
    assert.equal((await admin('DELETE', `/api/v1/webhook-endpoints/${id}`)).status, 204);
    const gone = await admin('GET', `/api/v1/webhook-endpoints/${id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'WEBHOOK_ENDPOINT_NOT_FOUND');
  });

  test('only an admin key manages endpoints; an unknown event type is a validation error', async () => {
    const key = await createApiKey(t.database.db, 'backend', 'service');
    const res = await call(app.url!, 'GET', '/api/v1/webhook-endpoints', { token: key });
    assert.equal(res.status, 403);
    const bad = await admin('POST', '/api/v1/webhook-endpoints', {
      url: receiver.url,
      event_types: ['campaign.sent'],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
  });

  test('every webhook route is in the OpenAPI document, from its zod schema', async () => {
    const doc = (await call(app.url!, 'GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const base = '/api/v1/webhook-endpoints';
    assert.deepEqual(Object.keys(doc.paths[base]!).sort(), ['get', 'post']);
    assert.deepEqual(Object.keys(doc.paths[`${base}/{id}`]!).sort(), ['delete', 'get', 'patch']);
    assert.ok(doc.paths[`${base}/{id}/rotate-secret`]!['post']);
    assert.ok(doc.paths[`${base}/{id}/attempts`]!['get']);
    assert.ok(doc.paths['/api/v1/webhook-messages/{id}/replay']!['post']);
    const body = JSON.stringify(doc.paths[base]!['post']);
    assert.ok(body.includes('sms.opted_out'), 'the event types are listed in the schema');
  });
});
