import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { createApiKey, ensureAdminKey, hashApiKey } from '../../src/auth/api-keys.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { INVALID_PHONE_MESSAGE } from '../../src/channels/sms/phone.ts';
import { apiKeys, notifications, users } from '../../src/db/schema.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_test_admin_key';
const BODY_LIMIT = 2048;
const context = getNotificationType('order_confirmed')!.sampleContext;

interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  [extra: string]: unknown;
}

interface DeliveryView {
  channel: string;
  status: string;
  attempts: number;
  history: Array<{ from: string | null; to: string }>;
}

describe(`HTTP API (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY, BODY_LIMIT_BYTES: String(BODY_LIMIT) }),
      api: true,
      worker: true,
      database: t.database,
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  function call(
    method: string,
    path: string,
    opts: { body?: unknown; rawBody?: string; key?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? ADMIN_KEY : opts.key;
    if (key !== null) headers['authorization'] = `Bearer ${key}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    return fetch(`${app.url}${path}`, { method, headers, body });
  }

  /** A problem+json response: the right status, code and shape, and nothing internal in it. */
  async function expectProblem(res: Response, status: number, code: string): Promise<Problem> {
    const text = await res.text();
    assert.equal(res.status, status, text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const body = JSON.parse(text) as Problem;
    assert.equal(body.status, status);
    assert.equal(body.code, code);
    assert.equal(typeof body.type, 'string');
    assert.ok(body.type.length > 0);
    assert.equal(typeof body.title, 'string');
    assert.equal(typeof body.detail, 'string');
    assert.ok(!('stack' in body), 'no stack in the body');
    assert.doesNotMatch(text, /\bat .+\.(ts|js):\d+/, 'no stack frames in the body');
    return body;
  }

  async function upsertUser(id: string, fields: Record<string, unknown> = {}) {
    const res = await call('PUT', `/api/v1/users/${id}`, {
      body: { email: `${id}@example.com`, first_name: 'Priya', ...fields },
    });
    assert.ok(res.status === 201 || res.status === 200, `upsert ${id}: ${res.status}`);
    return res;
  }

  test('/healthz and /readyz answer 200, readiness names the engine', async () => {
    const health = await fetch(`${app.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const ready = await fetch(`${app.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', engine: ENGINE });
  });

  test('/openapi.json is an OpenAPI 3 document listing the notifications endpoint; /docs is HTML', async () => {
    const res = await fetch(`${app.url}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.paths['/api/v1/notifications'], Object.keys(doc.paths).join(', '));
    assert.ok(doc.paths['/api/v1/users/{userId}']);
    const docs = await fetch(`${app.url}/docs`);
    assert.equal(docs.status, 200);
    assert.match(docs.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await docs.text(), /<html/i);
  });

  test('a user is created (201), updated (200), read, deleted (204) and then gone (404)', async () => {
    const first = await call('PUT', '/api/v1/users/u-crud', {
      body: { email: 'u-crud@example.com', first_name: 'Priya', phone: '+919876543210' },
    });
    assert.equal(first.status, 201);
    const created = (await first.json()) as Record<string, unknown>;
    assert.equal(created['id'], 'u-crud');
    assert.equal(created['phone'], '+919876543210');

    const second = await call('PUT', '/api/v1/users/u-crud', { body: { first_name: 'Asha' } });
    assert.equal(second.status, 200);
    const updated = (await second.json()) as Record<string, unknown>;
    assert.equal(updated['first_name'], 'Asha');
    assert.equal(updated['email'], 'u-crud@example.com', 'fields not sent are kept');

    const got = await call('GET', '/api/v1/users/u-crud');
    assert.equal(got.status, 200);
    assert.equal(((await got.json()) as Record<string, unknown>)['first_name'], 'Asha');

    const del = await call('DELETE', '/api/v1/users/u-crud');
    assert.equal(del.status, 204);
    await expectProblem(await call('GET', '/api/v1/users/u-crud'), 404, 'USER_NOT_FOUND');
  });

  test('a notification is created (201), its in-app delivery reaches delivered with its history', async () => {
    await upsertUser('u-notify');
    const res = await call('POST', '/api/v1/notifications', {
      body: { user_id: 'u-notify', type: 'order_confirmed', context },
    });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { notification_id: string; title: string; message: string };
    assert.match(created.notification_id, /^ntf_/);
    assert.match(created.title + created.message, /LC240117/);

    const inApp = await waitFor(
      async () => {
        const r = await call('GET', `/api/v1/notifications/${created.notification_id}`);
        assert.equal(r.status, 200);
        const view = (await r.json()) as { deliveries: DeliveryView[] };
        const d = view.deliveries.find((x) => x.channel === 'in_app');
        return d?.status === 'delivered' ? d : undefined;
      },
      10_000,
      'in-app delivery delivered',
    );
    assert.equal(inApp.attempts, 1);
    assert.deepEqual(
      inApp.history.map((h) => `${h.from ?? '∅'}→${h.to}`),
      ['∅→queued', 'queued→sending', 'sending→delivered'],
    );
  });

  test('the same Idempotency-Key returns 200 and the first notification', async () => {
    await upsertUser('u-idem');
    const send = () =>
      call('POST', '/api/v1/notifications', {
        body: { user_id: 'u-idem', type: 'order_confirmed', context },
        headers: { 'idempotency-key': 'order-LC240117-confirmed' },
      });
    const first = await send();
    assert.equal(first.status, 201);
    const second = await send();
    assert.equal(second.status, 200);
    const a = (await first.json()) as { notification_id: string };
    const b = (await second.json()) as { notification_id: string };
    assert.equal(b.notification_id, a.notification_id);
  });

  test('registering an ADMIN_API_KEY someone else registered first neither fails nor resurrects it', async () => {
    // The insert meets the key already there: what a second process starting at the same moment
    // sees. Revoked, the key is invisible to the lookup before the insert, so the insert runs.
    const key = 'lcn_adm_registered_twice_0123456';
    await createApiKey(t.database.db, 'first', 'admin', key);
    await t.database.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(eq(apiKeys.keyHash, hashApiKey(key)));
    assert.equal(await ensureAdminKey(t.database.db, key), undefined);
    const res = await call('GET', '/api/v1/users/nobody-here', { key });
    assert.equal(res.status, 401, 'a revoked key stays revoked');
  });

  test('a service key created with createApiKey works on the API', async () => {
    const key = await createApiKey(t.database.db, 'svc', 'service');
    assert.match(key, /^lcn_svc_/);
    const put = await call('PUT', '/api/v1/users/u-svc', { key, body: { first_name: 'Ravi' } });
    assert.equal(put.status, 201);
    const post = await call('POST', '/api/v1/notifications', {
      key,
      body: { user_id: 'u-svc', type: 'order_confirmed', context },
    });
    assert.equal(post.status, 201);
  });

  describe('bad requests answer problem+json with a stable code', () => {
    test('an unknown user is 404 USER_NOT_FOUND', async () => {
      const res = await call('POST', '/api/v1/notifications', {
        body: { user_id: 'nobody-here', type: 'order_confirmed', context },
      });
      const p = await expectProblem(res, 404, 'USER_NOT_FOUND');
      assert.match(p.detail, /nobody-here/);
    });

    test('an unknown type is 422 UNKNOWN_NOTIFICATION_TYPE listing the accepted types', async () => {
      await upsertUser('u-badtype');
      const res = await call('POST', '/api/v1/notifications', {
        body: { user_id: 'u-badtype', type: 'order_teleported', context },
      });
      const p = await expectProblem(res, 422, 'UNKNOWN_NOTIFICATION_TYPE');
      assert.match(p.detail, /order_teleported/);
      assert.ok(Array.isArray(p['accepted']), JSON.stringify(p));
      assert.ok((p['accepted'] as string[]).includes('order_confirmed'));
    });

    test('malformed JSON is 400 MALFORMED_JSON', async () => {
      const res = await call('POST', '/api/v1/notifications', { rawBody: '{"user_id": "u-x", "type": ' });
      await expectProblem(res, 400, 'MALFORMED_JSON');
    });

    test('a body over BODY_LIMIT_BYTES is 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await call('POST', '/api/v1/notifications', {
        body: { user_id: 'u-x', type: 'order_confirmed', context: { pad: 'x'.repeat(BODY_LIMIT * 2) } },
      });
      await expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    test('a missing API key is 401', async () => {
      const res = await call('POST', '/api/v1/notifications', {
        key: null,
        body: { user_id: 'u-x', type: 'order_confirmed', context },
      });
      await expectProblem(res, 401, 'UNAUTHORIZED');
      await expectProblem(await call('GET', '/api/v1/users/u-x', { key: null }), 401, 'UNAUTHORIZED');
    });

    test('a wrong API key is 401', async () => {
      const res = await call('POST', '/api/v1/notifications', {
        key: 'lcn_svc_not_a_real_key',
        body: { user_id: 'u-x', type: 'order_confirmed', context },
      });
      const p = await expectProblem(res, 401, 'UNAUTHORIZED');
      assert.doesNotMatch(JSON.stringify(p), /lcn_svc_not_a_real_key/, 'the key is not echoed');
    });

    test('an unknown field is 400 VALIDATION_FAILED naming the field', async () => {
      const res = await call('POST', '/api/v1/notifications', {
        body: { user_id: 'u-x', type: 'order_confirmed', context, sms_sender: 'LCNTFY' },
      });
      const p = await expectProblem(res, 400, 'VALIDATION_FAILED');
      assert.match(p.detail, /sms_sender/);
    });

    test('an invalid phone on user upsert is 400 SMS_INVALID_PHONE with the seed wording', async () => {
      const res = await call('PUT', '/api/v1/users/u-phone', { body: { phone: '+91 9876543210' } });
      const p = await expectProblem(res, 400, 'SMS_INVALID_PHONE');
      assert.equal(p.detail, 'Invalid phone number format. Must start with + and country code.');
      assert.equal(p.detail, INVALID_PHONE_MESSAGE);
      await expectProblem(await call('GET', '/api/v1/users/u-phone'), 404, 'USER_NOT_FOUND');
    });

    test('a context missing a template variable is 422 TEMPLATE_MISSING_VAR naming it', async () => {
      await upsertUser('u-noctx');
      const res = await call('POST', '/api/v1/notifications', {
        body: { user_id: 'u-noctx', type: 'order_confirmed', context: {} },
      });
      const p = await expectProblem(res, 422, 'TEMPLATE_MISSING_VAR');
      assert.match(p.detail, /order\.\w+/);
      assert.match(String(p['variable']), /^order\.\w+$/);
      assert.ok(p.detail.includes(String(p['variable'])));
    });

    test('a blank or mistyped context value is a 400 naming the field, and nothing is created', async () => {
      await upsertUser('u-blankctx');
      const order = { order_number: 'LC-1', pickup_date: 'Sat 9-11' };
      for (const [value, field] of [
        ['', 'body.context.order.order_number'],
        ['   ', 'body.context.order.order_number'],
        [null, 'body.context.order.order_number'],
        [{ x: 1 }, 'body.context.order.order_number'],
      ] as const) {
        const res = await call('POST', '/api/v1/notifications', {
          body: {
            user_id: 'u-blankctx',
            type: 'order_confirmed',
            context: { order: { ...order, order_number: value } },
          },
        });
        const p = await expectProblem(res, 400, 'VALIDATION_FAILED');
        assert.deepEqual(
          (p['errors'] as Array<{ field: string }>).map((e) => e.field),
          [field],
          JSON.stringify(value),
        );
      }
      const ok = await call('POST', '/api/v1/notifications', {
        body: { user_id: 'u-blankctx', type: 'order_confirmed', context: { order } },
      });
      assert.equal(ok.status, 201, await ok.text());
      const created = await t.database.db
        .select({ id: notifications.id })
        .from(notifications)
        .innerJoin(users, eq(users.id, notifications.userId))
        .where(eq(users.externalId, 'u-blankctx'));
      assert.equal(created.length, 1, 'only the valid request created a notification');
    });

    test('an unknown route is a 404 problem', async () => {
      const res = await call('GET', '/api/v1/no-such-thing');
      const p = await expectProblem(res, 404, 'NOT_FOUND');
      assert.match(p.detail, /\/api\/v1\/no-such-thing/);
    });
  });
});
