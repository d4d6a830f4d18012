import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { ISSUER } from '../../src/auth/user-tokens.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { ADMIN_KEY, call, type SecurityApp, startSecurityApp, USER_TOKEN_SECRET } from './helpers.ts';

/**
 * Who can call what: every endpoint × every kind of caller, and API-key brute force. The expected
 * answers are the contract in docs/auth.md: a backend endpoint wants an API key (401 otherwise); a
 * user endpoint takes the user's own token or an API key, and another user's token sees a 404.
 */
type Caller = 'none' | 'forged_token' | 'other_user_token' | 'own_user_token' | 'service_key' | 'admin_key';
const CALLERS: Caller[] = [
  'none',
  'forged_token',
  'other_user_token',
  'own_user_token',
  'service_key',
  'admin_key',
];

type Kind = 'admin' | 'backend' | 'user' | 'public';
interface Endpoint {
  kind: Kind;
  method: string;
  path: string;
  body?: () => unknown;
  /** The 2xx an allowed caller gets. */
  ok: number;
}

/** What each caller must get, by endpoint kind. */
const EXPECTED: Record<Kind, Record<Caller, 'ok' | number>> = {
  admin: {
    none: 401,
    forged_token: 401,
    other_user_token: 401,
    own_user_token: 401,
    service_key: 403,
    admin_key: 'ok',
  },
  backend: {
    none: 401,
    forged_token: 401,
    other_user_token: 401,
    own_user_token: 401,
    service_key: 'ok',
    admin_key: 'ok',
  },
  user: {
    none: 401,
    forged_token: 401,
    other_user_token: 404,
    own_user_token: 'ok',
    service_key: 'ok',
    admin_key: 'ok',
  },
  public: {
    none: 'ok',
    forged_token: 'ok',
    other_user_token: 'ok',
    own_user_token: 'ok',
    service_key: 'ok',
    admin_key: 'ok',
  },
};

const context = getNotificationType('order_confirmed')!.sampleContext;

describe(`authorization (${ENGINE})`, () => {
  let s: SecurityApp;
  let ntf: string;
  const creds = {} as Record<Caller, string | null>;

  before(async () => {
    s = await startSecurityApp({ LOG_LEVEL: 'silent' });
    for (const id of ['alice', 'mallory']) {
      const r = await call(s.url, 'PUT', `/api/v1/users/${id}`, { key: ADMIN_KEY, body: { first_name: id } });
      assert.equal(r.status, 201, r.text);
    }
    const created = await call(s.url, 'POST', '/api/v1/notifications', {
      key: ADMIN_KEY,
      body: { user_id: 'alice', type: 'order_confirmed', context },
    });
    ntf = (JSON.parse(created.text) as { notification_id: string }).notification_id;
    const token = async (user: string) =>
      (
        JSON.parse((await call(s.url, 'POST', `/api/v1/users/${user}/token`, { key: ADMIN_KEY })).text) as {
          token: string;
        }
      ).token;
    creds.none = null;
    creds.own_user_token = await token('alice');
    creds.other_user_token = await token('mallory');
    // Right claims, wrong key: what an attacker who guesses the format but not the secret can make.
    creds.forged_token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer(ISSUER)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-secret-not-the-secret-not-the-secret'));
    creds.service_key = s.serviceKey;
    creds.admin_key = ADMIN_KEY;
  });
  after(async () => {
    await s.close();
  });

  const endpoints = (): Endpoint[] => [
    { kind: 'public', method: 'GET', path: '/healthz', ok: 200 },
    { kind: 'public', method: 'GET', path: '/readyz', ok: 200 },
    {
      kind: 'backend',
      method: 'PUT',
      path: '/api/v1/users/alice',
      body: () => ({ first_name: 'Alice' }),
      ok: 200,
    },
    { kind: 'backend', method: 'GET', path: '/api/v1/users/alice', ok: 200 },
    { kind: 'backend', method: 'GET', path: '/api/v1/users?filter=%7B%7D', ok: 200 },
    { kind: 'backend', method: 'POST', path: '/api/v1/users/alice/token', ok: 201 },
    {
      kind: 'backend',
      method: 'POST',
      path: '/api/v1/notifications',
      body: () => ({ user_id: 'alice', type: 'order_confirmed', context }),
      ok: 201,
    },
    { kind: 'backend', method: 'GET', path: `/api/v1/notifications/${ntf}`, ok: 200 },
    {
      kind: 'backend',
      method: 'POST',
      path: '/api/v1/events',
      body: () => ({ type: 'order.created', customer_id: 'alice', data: context }),
      ok: 202,
    },
    { kind: 'admin', method: 'GET', path: '/api/v1/templates/order_confirmed/en/sms', ok: 200 },
    {
      kind: 'admin',
      method: 'POST',
      path: '/api/v1/templates/preview',
      body: () => ({ type: 'order_confirmed' }),
      ok: 200,
    },
    { kind: 'user', method: 'GET', path: '/api/notifications/preferences/?user_id=alice', ok: 200 },
    {
      kind: 'user',
      method: 'PATCH',
      path: '/api/notifications/preferences/?user_id=alice',
      body: () => ({ order_updates_email: true }),
      ok: 200,
    },
    { kind: 'user', method: 'GET', path: '/api/notifications/sms-replies/?user_id=alice', ok: 200 },
    { kind: 'user', method: 'GET', path: '/api/v1/inbox?user_id=alice', ok: 200 },
    { kind: 'user', method: 'GET', path: '/api/v1/inbox/unread-count?user_id=alice', ok: 200 },
    { kind: 'user', method: 'POST', path: `/api/v1/inbox/${ntf}/read?user_id=alice`, ok: 200 },
    { kind: 'user', method: 'POST', path: '/api/v1/inbox/read-all?user_id=alice', ok: 200 },
  ];

  test('every endpoint × every caller answers as docs/auth.md says', async () => {
    const wrong: string[] = [];
    const lines: string[] = [];
    for (const e of endpoints()) {
      const row: string[] = [];
      for (const caller of CALLERS) {
        const res = await call(s.url, e.method, e.path, { key: creds[caller], body: e.body?.() });
        const want = EXPECTED[e.kind][caller];
        const expected = want === 'ok' ? e.ok : want;
        row.push(String(res.status));
        if (res.status !== expected) {
          wrong.push(
            `${e.method} ${e.path} as ${caller}: ${res.status} (expected ${expected}) ${res.text.slice(0, 120)}`,
          );
        }
        if (res.status === 401 || res.status === 404) {
          // Refusals say nothing about the data behind them.
          assert.doesNotMatch(res.text, /alice@|Alice|"first_name"/, `${e.method} ${e.path} as ${caller}`);
        }
      }
      lines.push(`${`${e.method} ${e.path}`.padEnd(60)} ${row.join(' ')}`);
    }
    assert.deepEqual(wrong, [], `\n${CALLERS.join(' | ')}\n${lines.join('\n')}`);
  });

  test('another user cannot reach alice by omitting user_id: their token only ever shows their own data', async () => {
    const res = await call(s.url, 'GET', '/api/v1/inbox', { key: creds.other_user_token });
    assert.equal(res.status, 200);
    assert.doesNotMatch(res.text, new RegExp(ntf));
    const read = await call(s.url, 'POST', `/api/v1/inbox/${ntf}/read`, { key: creds.other_user_token });
    assert.equal(read.status, 404, read.text);
  });

  test('expired, unsigned (alg none), wrong-issuer and subject-less tokens are 401', async () => {
    const key = new TextEncoder().encode(USER_TOKEN_SECRET);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const tokens = [
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setIssuer(ISSUER)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
        .sign(key),
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', iss: ISSUER, exp: 9_999_999_999 })}.`,
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('alice')
        .setIssuer('someone-else')
        .setExpirationTime('1h')
        .sign(key),
      await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(ISSUER)
        .setExpirationTime('1h')
        .sign(key),
      'a.b.c',
    ];
    for (const token of tokens) {
      const res = await call(s.url, 'GET', '/api/notifications/preferences/', { key: token });
      assert.equal(res.status, 401, `${token}: ${res.text}`);
    }
  });
});

describe(`API key brute force (${ENGINE})`, () => {
  let s: SecurityApp;
  const LIMIT = 20;
  before(async () => {
    s = await startSecurityApp({ LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  after(async () => {
    await s.close();
  });

  test('guessing with one wrong key is rate-limited: 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < LIMIT + 5; i++) {
      const res = await call(s.url, 'GET', '/api/v1/users/alice', { key: 'lcn_svc_guess' });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    assert.equal(statuses.filter((x) => x === 401).length, LIMIT);
    assert.equal(statuses.filter((x) => x === 429).length, 5);
    assert.match(retryAfter ?? '', /^\d+$/);
  });

  test('guessing with a different key on every request, from one address, is rate-limited', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT * 3; i++) {
      const res = await call(s.url, 'GET', '/api/v1/users/alice', { key: `lcn_svc_guess_${i}` });
      statuses.push(res.status);
    }
    assert.ok(statuses.includes(429), `${LIMIT * 3} guesses, none refused with 429`);
  });

  test('an address that used up its guesses still gets in with a valid key, cached or not; its guesses do not', async () => {
    // Loopback is 127.0.0.0/8: each source address below is another caller to the service.
    const from = (localAddress: string, key: string) =>
      new Promise<number>((resolve, reject) => {
        const req = get(
          `${s.url}/api/v1/users/nobody`,
          { localAddress, headers: { authorization: `Bearer ${key}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on('error', reject);
      });
    // 404: the key was accepted and the user does not exist. The admin key is cached from here on.
    assert.equal(await from('127.0.0.4', ADMIN_KEY), 404);
    // A key that no request has used yet, so no cache holds it.
    const fresh = await createApiKey(s.t.database.db, 'never used', 'service');
    for (let i = 0; i < LIMIT * 3; i++) await from('127.0.0.3', `lcn_svc_guess_${i}`);
    assert.equal(await from('127.0.0.3', 'lcn_svc_guess_more'), 429, 'the spent address guesses no more');
    assert.equal(await from('127.0.0.3', ADMIN_KEY), 404, 'a cached valid key is not locked out');
    assert.equal(await from('127.0.0.3', fresh), 404, 'an uncached valid key is not locked out');
    assert.equal(await from('127.0.0.4', ADMIN_KEY), 404, 'another address is not affected');
  });
});
