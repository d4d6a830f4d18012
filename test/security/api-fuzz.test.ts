import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { NOTIFICATION_TYPE_NAMES } from '../../src/catalog/catalog.ts';
import { queryRows } from '../../src/db/database.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { ADMIN_KEY, call, type SecurityApp, seedSmsUser, startSecurityApp } from './helpers.ts';

/**
 * Hostile input on the public API: whatever JSON (or non-JSON) a caller sends, the answer is a
 * 2xx or a problem+json 4xx — never a 5xx — and SQL metacharacters are stored as text, not run.
 */
const RUNS = 50;

const SQL_METACHARACTERS = [
  "'; drop table users; --",
  "' or '1'='1",
  'Robert"); DROP TABLE notifications;--',
  "\\'; select pg_sleep(5); --",
  '$$; delete from deliveries; $$',
  '%_\\%',
  "1; update api_keys set role='admin'",
  ') union select key_hash from api_keys --',
  'emoji 🧺 and RTL \u202e',
];

/** Any JSON value, including the nasty ones: deep nesting, huge numbers, odd keys like __proto__. */
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'user_id', 'type', 'context', 'phone', ''),
    fc.jsonValue({ maxDepth: 3 }),
  ),
);

/** Bodies shaped like the real ones, with random values in every field, to get past the first check. */
const nearlyValidNotification = fc.record(
  {
    user_id: fc.oneof(fc.constant('fuzz-user'), fc.string({ maxLength: 200 })),
    type: fc.oneof(fc.constantFrom(...NOTIFICATION_TYPE_NAMES), fc.string()),
    context: fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 3 })),
    title: fc.string({ maxLength: 300 }),
    message: fc.string({ maxLength: 300 }),
  },
  { requiredKeys: [] },
);
const nearlyValidUser = fc.record(
  {
    email: fc.oneof(fc.emailAddress(), fc.string(), fc.constant(null)),
    phone: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('+919876543210'), fc.constant(null)),
    first_name: fc.oneof(fc.string({ maxLength: 120 }), fc.constant(null)),
    locale: fc.string({ maxLength: 20 }),
    time_zone: fc.oneof(fc.constantFrom('Asia/Kolkata', 'UTC', 'Mars/Olympus'), fc.string()),
    role: fc.oneof(fc.constantFrom('customer', 'partner', 'admin', 'root'), fc.string()),
  },
  { requiredKeys: [] },
);
const nearlyValidEvent = fc.record(
  {
    id: fc.string({ maxLength: 250 }),
    type: fc.oneof(
      fc.constantFrom('order.created', 'order.status_changed', 'payment.completed', 'user.registered'),
      fc.string(),
    ),
    customer_id: fc.oneof(fc.constant('fuzz-user'), fc.string()),
    partner_id: fc.string(),
    data: fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 3 })),
  },
  { requiredKeys: [] },
);
const nearlyValidPreferences = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'order_updates_sms',
      'order_updates_email',
      'payment_updates_sms',
      'quiet_hours_start',
      'quiet_hours_end',
      'time_zone',
    ),
    fc.string(),
  ),
  fc.oneof(fc.boolean(), fc.constant('22:00'), fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
);

describe(`hostile input on the public API (${ENGINE})`, () => {
  let s: SecurityApp;
  before(async () => {
    s = await startSecurityApp({ LOG_LEVEL: 'silent' });
    await seedSmsUser(s, 'fuzz-user', '+919876500001');
  });
  after(async () => {
    await s.close();
  });

  /** 2xx, or a problem+json 4xx with a code; anything else fails with the request that caused it. */
  function assertHandled(res: { status: number; text: string; headers: Headers }, what: string) {
    assert.ok(res.status < 500, `${what} → ${res.status} ${res.text.slice(0, 300)}`);
    if (res.status >= 400) {
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, what);
      const problem = JSON.parse(res.text) as { code?: unknown; status?: unknown };
      assert.equal(typeof problem.code, 'string', what);
      assert.equal(problem.status, res.status, what);
    }
  }

  const endpoints: Array<{ method: string; path: string; shaped: fc.Arbitrary<unknown> }> = [
    { method: 'POST', path: '/api/v1/notifications', shaped: nearlyValidNotification },
    { method: 'PUT', path: '/api/v1/users/fuzz-target', shaped: nearlyValidUser },
    { method: 'POST', path: '/api/v1/events', shaped: nearlyValidEvent },
    {
      method: 'PATCH',
      path: '/api/notifications/preferences/?user_id=fuzz-user',
      shaped: nearlyValidPreferences,
    },
  ];

  test('locales and time zones are checked against the supported locales and the IANA zone names', async () => {
    const put = (fields: Record<string, unknown>) =>
      call(s.url, 'PUT', '/api/v1/users/locale-user', {
        key: ADMIN_KEY,
        body: { first_name: 'A', ...fields },
      });
    for (const locale of ['__proto__', '../../en', 'xx', 'en_US!']) {
      const res = await put({ locale });
      assert.equal(res.status, 400, locale);
      assert.match(res.text, /body\.locale: must be a supported locale/, locale);
    }
    for (const time_zone of ['+05:30', '-0800', 'Mars/Olympus_Mons']) {
      const res = await put({ time_zone });
      assert.equal(res.status, 400, time_zone);
      assert.match(res.text, /body\.time_zone/, time_zone);
    }
    assert.ok([200, 201].includes((await put({ locale: 'hi-IN', time_zone: 'Asia/Kolkata' })).status));
    assert.ok([200, 201].includes((await put({ locale: 'ta', time_zone: 'UTC' })).status));
    const patch = await call(s.url, 'PATCH', '/api/notifications/preferences/?user_id=locale-user', {
      key: ADMIN_KEY,
      body: { time_zone: '+05:30' },
    });
    assert.equal(patch.status, 400);
    assert.match(patch.text, /time_zone/);
  });

  for (const e of endpoints) {
    test(`${e.method} ${e.path}: random JSON gets a 2xx or a 4xx, never a 5xx`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyJson, e.shaped), async (body) => {
          const res = await call(s.url, e.method, e.path, { key: ADMIN_KEY, body });
          assertHandled(res, `${e.method} ${e.path} ${JSON.stringify(body).slice(0, 300)}`);
        }),
        { numRuns: RUNS },
      );
    });
  }

  test('random bytes sent as JSON, and JSON sent under odd content types, are 4xx', async () => {
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=latin1',
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 500 }), contentType, async (raw, type) => {
        const res = await call(s.url, 'POST', '/api/v1/notifications', {
          key: ADMIN_KEY,
          rawBody: raw,
          headers: { 'content-type': type },
        });
        assertHandled(res, `${type} ${JSON.stringify(raw).slice(0, 200)}`);
      }),
      { numRuns: RUNS },
    );
  });

  test('random path parameters and query strings are 2xx or 4xx', async () => {
    const paths = (id: string) => [
      ['GET', `/api/v1/users/${id}`],
      ['GET', `/api/v1/notifications/${id}`],
      ['POST', `/api/v1/users/${id}/token`],
      ['GET', `/api/v1/inbox?user_id=${id}&cursor=${id}&limit=${id}`],
      ['GET', `/api/notifications/preferences/?user_id=${id}`],
    ];
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 300 }), async (raw) => {
        for (const [method, path] of paths(encodeURIComponent(raw))) {
          const res = await call(s.url, method!, path!, { key: ADMIN_KEY });
          assertHandled(res, `${method} ${path}`);
        }
      }),
      { numRuns: 20 },
    );
  });

  test('SQL metacharacters in every text field are stored verbatim and run nothing', async () => {
    const db = s.t.database.db;
    const count = async (table: string) =>
      (await queryRows<{ n: number }>(db, sql`select count(*)::int as n from ${sql.identifier(table)}`))[0]!
        .n;
    const keysBefore = await count('api_keys');
    for (const [i, evil] of SQL_METACHARACTERS.entries()) {
      const userId = `sqli-${i}-${evil}`;
      const path = `/api/v1/users/${encodeURIComponent(userId)}`;
      const put = await call(s.url, 'PUT', path, {
        key: ADMIN_KEY,
        // No locale: it must be a supported one now, so a metacharacter there is a 400 (tested above).
        body: { first_name: evil, last_name: evil },
      });
      assertHandled(put, `PUT user ${evil}`);
      const got = await call(s.url, 'GET', path, { key: ADMIN_KEY });
      assert.equal(got.status, 200, got.text);
      const user = JSON.parse(got.text) as Record<string, unknown>;
      assert.equal(user['id'], userId);
      // A lone surrogate is not text: it comes back as U+FFFD, which is fine.
      assert.equal(user['first_name'], evil.toWellFormed());

      const created = await call(s.url, 'POST', '/api/v1/notifications', {
        key: ADMIN_KEY,
        headers: { 'idempotency-key': encodeURIComponent(`k-${evil}`) },
        body: {
          user_id: userId,
          type: 'order_confirmed',
          title: `t ${evil}`,
          message: `m ${evil}`,
          context: { order: { order_number: evil, pickup_date: evil }, [evil]: evil },
        },
      });
      assertHandled(created, `notification ${evil}`);
      assert.equal(created.status, 201, created.text);
      const view = JSON.parse(created.text) as { notification_id: string; title: string; message: string };
      assert.equal(view.title, `t ${evil}`.toWellFormed());
      const again = await call(s.url, 'GET', `/api/v1/notifications/${view.notification_id}`, {
        key: ADMIN_KEY,
      });
      assert.equal(JSON.parse(again.text).message, `m ${evil}`.toWellFormed());

      const event = await call(s.url, 'POST', '/api/v1/events', {
        key: ADMIN_KEY,
        body: {
          id: evil,
          type: 'order.created',
          customer_id: userId,
          data: { order: { order_number: evil } },
        },
      });
      assertHandled(event, `event ${evil}`);
      for (const p of [
        `/api/notifications/preferences/?user_id=${encodeURIComponent(evil)}`,
        `/api/v1/inbox?user_id=${encodeURIComponent(userId)}&cursor=${encodeURIComponent(evil)}`,
        `/api/v1/notifications/${encodeURIComponent(evil)}`,
      ]) {
        assertHandled(await call(s.url, 'GET', p, { key: ADMIN_KEY }), p);
      }
    }
    assert.equal(await count('api_keys'), keysBefore, 'no key was created or removed');
    for (const table of ['users', 'notifications', 'deliveries', 'api_keys']) {
      assert.ok((await count(table)) > 0, `${table} still has its rows`);
    }
    const [admin] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from api_keys where role = 'admin'`,
    );
    assert.equal(admin!.n, 1, 'no key was promoted to admin');
  });

  test('a NUL character in a text field, path, query or nested object is a 400 naming the field', async () => {
    // Valid keys, so the only thing wrong with the subscription is the NUL in its endpoint.
    const browser = createECDH('prime256v1');
    const keys = {
      p256dh: browser.generateKeys('base64url'),
      auth: Buffer.alloc(16, 1).toString('base64url'),
    };
    // [method, path, body, the field the answer must name]
    const cases: Array<[string, string, unknown, string]> = [
      ['PUT', '/api/v1/users/nul-user', { first_name: 'a\u0000b' }, 'body.first_name'],
      ['PUT', '/api/v1/users/nul%00user', { first_name: 'x' }, 'params.userId'],
      ['GET', '/api/v1/users/a%00b', undefined, 'params.userId'],
      ['GET', '/api/v1/notifications/a%00b', undefined, 'params.notificationId'],
      [
        'POST',
        '/api/v1/events',
        { id: 'x\u0000', type: 'order.created', customer_id: 'fuzz-user' },
        'body.id',
      ],
      [
        'POST',
        '/api/v1/notifications',
        { user_id: 'fuzz-user', type: 'order_confirmed', title: 'a\u0000', context: { order: {} } },
        'body.title',
      ],
      // Free-form objects go to jsonb, which refuses NUL in strings and keys at any depth.
      [
        'POST',
        '/api/v1/notifications',
        { user_id: 'fuzz-user', type: 'order_confirmed', context: { order: { items: ['ok', 'b\u0000'] } } },
        'body.context.order.items.1',
      ],
      [
        'POST',
        '/api/v1/events',
        { type: 'order.created', customer_id: 'fuzz-user', data: { order: { 'k\u0000': 1 } } },
        'body.data.order.k',
      ],
      ['GET', '/api/v1/inbox?user_id=a%00b', undefined, 'querystring.user_id'],
      [
        'PATCH',
        '/api/notifications/preferences/?user_id=fuzz-user',
        { time_zone: 'UTC\u0000' },
        'body.time_zone',
      ],
      [
        'POST',
        '/api/v1/push/subscriptions?user_id=fuzz-user',
        { endpoint: 'https://push.example/\u0000', keys },
        'body.endpoint',
      ],
      ['PUT', '/api/v1/templates/order_confirmed/en/sms', { source: 'Hi\u0000' }, 'body.source'],
    ];
    const failures: string[] = [];
    for (const [method, path, body, field] of cases) {
      const res = await call(s.url, method, path, { key: ADMIN_KEY, body });
      const problem = JSON.parse(res.text) as { code?: string; detail?: string };
      if (res.status !== 400 || problem.code !== 'VALIDATION_FAILED' || !problem.detail?.includes(field)) {
        failures.push(
          `${method} ${path} ${JSON.stringify(body) ?? ''} → ${res.status} ${res.text.slice(0, 200)}`,
        );
      }
    }
    assert.deepEqual(failures, []);
  });

  test('a lone UTF-16 surrogate in a text field or nested object is a 400 naming the field', async () => {
    // JSON.stringify writes a lone surrogate as the escape `\ud800`, as a client would send it.
    const cases: Array<[string, string, unknown, string]> = [
      ['PUT', '/api/v1/users/surrogate-user', { first_name: 'a\ud800' }, 'body.first_name'],
      [
        'POST',
        '/api/v1/notifications',
        { user_id: 'fuzz-user', type: 'order_confirmed', context: { order: { note: 'x\udc00y' } } },
        'body.context.order.note',
      ],
      [
        'POST',
        '/api/v1/events',
        { type: 'order.created', customer_id: 'fuzz-user', data: { order: { 'k\ud800': 1 } } },
        'body.data.order.k',
      ],
    ];
    const failures: string[] = [];
    for (const [method, path, body, field] of cases) {
      const res = await call(s.url, method, path, { key: ADMIN_KEY, body });
      const problem = JSON.parse(res.text) as { code?: string; detail?: string };
      if (
        res.status !== 400 ||
        problem.code !== 'VALIDATION_FAILED' ||
        !problem.detail?.includes(field) ||
        !problem.detail.includes('surrogate')
      ) {
        failures.push(`${method} ${path} → ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});
