import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { TestClock } from '../../src/clock.ts';
import { SESSION_COOKIE } from '../../src/console/session-routes.ts';
import { apiKeys, consoleSessions } from '../../src/db/schema.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { ConsoleClient } from './console-client.ts';
import { startConsoleApp } from './console-test-app.ts';

const ADMIN_KEY = 'lcn_test_console_admin_key';

describe(`console sign-in and sessions (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let viewerKey: string;
  let serviceKey: string;
  const clients: ConsoleClient[] = [];
  const client = () => {
    const c = new ConsoleClient(app.url!);
    clients.push(c);
    return c;
  };

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, { adminKey: ADMIN_KEY });
    viewerKey = await createApiKey(t.database.db, 'console viewer', 'viewer');
    serviceKey = await createApiKey(t.database.db, 'console backend', 'service');
  });
  after(async () => {
    // No response of any test carried a key, in a body or a header.
    for (const c of clients)
      for (const text of c.seen)
        for (const key of [ADMIN_KEY, viewerKey, serviceKey])
          assert.ok(!text.includes(key), 'a key came back');
    await app?.close();
    await t?.close();
  });

  test('an admin key signs in: a session cookie (HttpOnly, SameSite=Strict, path /console, not Secure on http) and the overview', async () => {
    const c = client();
    const res = await c.signIn(ADMIN_KEY);
    assert.equal(res.status, 303, res.text);
    assert.equal(res.headers.get('location'), '/console/overview');
    const line = c.cookieLine(SESSION_COOKIE);
    assert.ok(line, 'session cookie set');
    assert.match(line, /; HttpOnly/i);
    assert.match(line, /; SameSite=Strict/i);
    assert.match(line, /; Path=\/console(;|$)/i);
    assert.doesNotMatch(line, /; Secure/i);
    const csrf = c.cookieLine('lcn_console_csrf');
    assert.ok(csrf, 'CSRF secret cookie set by the sign-in page');
    assert.match(csrf, /; HttpOnly/i);
    assert.match(csrf, /; SameSite=Strict/i);

    // Only the hash of the session id is stored.
    const token = c.cookies.get(SESSION_COOKIE)!;
    const rows = await t.database.db.select().from(consoleSessions);
    assert.ok(rows.length > 0);
    assert.ok(rows.every((r) => r.tokenHash !== token && !r.tokenHash.includes(token)));

    const overview = await c.request('GET', '/console/overview');
    assert.equal(overview.status, 200, overview.text);
    assert.match(overview.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(overview.text, /<h1>Overview: Today<\/h1>/);
    assert.match(overview.text, /Signed in as <strong>admin \(from ADMIN_API_KEY\)<\/strong> \(admin\)/);
    assert.match(overview.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.equal(overview.headers.get('cache-control'), 'no-store');
  });

  test('a viewer key signs in too', async () => {
    const c = client();
    const res = await c.signIn(viewerKey);
    assert.equal(res.status, 303, res.text);
    const overview = await c.request('GET', '/console/overview?window=7d');
    assert.equal(overview.status, 200);
    assert.match(overview.text, /\(viewer\)/);
    assert.match(overview.text, /Overview: Last 7 days/);
  });

  test('a wrong key: the sign-in page again with 401, a clear error and no session', async () => {
    const c = client();
    const res = await c.signIn('lcn_adm_not_a_real_key_at_all');
    assert.equal(res.status, 401);
    assert.match(res.text, /role="alert"[^>]*><p>That API key is not valid/);
    assert.match(res.text, /<form method="post" action="\/console\/sign-in"/);
    assert.ok(!res.text.includes('lcn_adm_not_a_real_key_at_all'), 'the typed key is not echoed');
    assert.equal(c.cookieLine(SESSION_COOKIE), undefined);
    assert.equal((await c.request('GET', '/console/overview')).status, 303);
  });

  test('a key of another role (service) is refused with 401 and no session', async () => {
    const c = client();
    const res = await c.signIn(serviceKey);
    assert.equal(res.status, 401);
    assert.match(res.text, /A service key cannot sign in to the console: use an admin or viewer key/);
    assert.equal(c.cookieLine(SESSION_COOKIE), undefined);
  });

  test('pages and the live stream need a session: a page redirects to sign-in, the stream answers 401', async () => {
    const c = client();
    for (const path of ['/console/overview', '/console']) {
      const res = await c.request('GET', path);
      assert.equal(res.status, 303, path);
      assert.equal(res.headers.get('location'), '/console/sign-in');
    }
    assert.equal((await c.request('GET', '/console/live')).status, 401);
    const missing = await c.request('GET', '/console/no-such-page');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /There is no such page in the console/);
    // A forged cookie is no session either.
    c.cookies.set(SESSION_COOKIE, 'forged');
    assert.equal((await c.request('GET', '/console/overview')).status, 303);
  });

  test('CSRF: sign-in and logout without the token (or without the secret cookie) are refused with 403 and change nothing', async () => {
    const fresh = client();
    const noSecret = await fresh.request('POST', '/console/sign-in', { key: ADMIN_KEY });
    assert.equal(noSecret.status, 403);
    assert.match(noSecret.text, /Reload the page and try again/);

    const c = client();
    await c.csrfFrom('/console/sign-in');
    const noToken = await c.request('POST', '/console/sign-in', { key: ADMIN_KEY });
    assert.equal(noToken.status, 403);
    const badToken = await c.request('POST', '/console/sign-in', { key: ADMIN_KEY, _csrf: 'forged' });
    assert.equal(badToken.status, 403);
    assert.equal(c.cookieLine(SESSION_COOKIE), undefined, 'no session from a refused form');

    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    const logout = await c.request('POST', '/console/logout', {});
    assert.equal(logout.status, 403);
    assert.equal((await c.request('GET', '/console/overview')).status, 200, 'still signed in');
  });

  test('logout deletes the session: its cookie opens nothing afterwards, even replayed', async () => {
    const c = client();
    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    const token = c.cookies.get(SESSION_COOKIE)!;
    const csrf = await c.csrfFrom('/console/overview');
    const before = await t.database.db.select().from(consoleSessions);
    const res = await c.request('POST', '/console/logout', { _csrf: csrf });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/console/sign-in');
    assert.match(c.cookieLine(SESSION_COOKIE) ?? '', /^lcn_console_session=;/);
    assert.equal((await t.database.db.select().from(consoleSessions)).length, before.length - 1);
    const replay = client();
    replay.cookies.set(SESSION_COOKIE, token);
    assert.equal((await replay.request('GET', '/console/overview')).status, 303);
    assert.equal((await replay.request('GET', '/console/live')).status, 401);
  });

  test('signing in again gives a new session id and ends the old one', async () => {
    const c = client();
    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    const first = c.cookies.get(SESSION_COOKIE)!;
    const token = await c.csrfFrom('/console/overview');
    assert.equal((await c.request('POST', '/console/sign-in', { _csrf: token, key: viewerKey })).status, 303);
    const second = c.cookies.get(SESSION_COOKIE)!;
    assert.notEqual(second, first);
    assert.match((await c.request('GET', '/console/overview')).text, /\(viewer\)/);
    const old = client();
    old.cookies.set(SESSION_COOKIE, first);
    assert.equal((await old.request('GET', '/console/overview')).status, 303);
  });

  test('revoking the key ends its console sessions', async () => {
    const key = await createApiKey(t.database.db, 'short-lived viewer', 'viewer');
    const c = client();
    assert.equal((await c.signIn(key)).status, 303);
    assert.equal((await c.request('GET', '/console/overview')).status, 200);
    await t.database.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(eq(apiKeys.name, 'short-lived viewer'));
    assert.equal((await c.request('GET', '/console/overview')).status, 303);
    assert.ok(!c.seen.some((s) => s.includes(key)));
  });
});

describe(`console sessions expire, on the app's clock (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const clock = new TestClock();
  const MINUTE = 60_000;

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, {
      adminKey: ADMIN_KEY,
      env: {
        PUBLIC_URL: 'https://notify.example.com',
        CONSOLE_SESSION_IDLE_MINUTES: '30',
        CONSOLE_SESSION_MAX_HOURS: '2',
        CONSOLE_SIGN_IN_ATTEMPTS_PER_MINUTE: '4',
      },
      clock,
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('with an https PUBLIC_URL both cookies are Secure', async () => {
    const c = new ConsoleClient(app.url!);
    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    assert.match(c.cookieLine(SESSION_COOKIE) ?? '', /; Secure/i);
    assert.match(c.cookieLine('lcn_console_csrf') ?? '', /; Secure/i);
  });

  test('unused for the idle limit, a session is over; used within it, it lives on', async () => {
    const c = new ConsoleClient(app.url!);
    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    clock.advance(29 * MINUTE);
    assert.equal((await c.request('GET', '/console/overview')).status, 200, 'used at 29 min');
    clock.advance(29 * MINUTE);
    assert.equal((await c.request('GET', '/console/overview')).status, 200, 'idle 29 min again');
    clock.advance(30 * MINUTE);
    const res = await c.request('GET', '/console/overview');
    assert.equal(res.status, 303, 'idle 30 min: over');
    assert.equal(res.headers.get('location'), '/console/sign-in');
  });

  test('however much it is used, a session is over at the absolute limit', async () => {
    const c = new ConsoleClient(app.url!);
    assert.equal((await c.signIn(ADMIN_KEY)).status, 303);
    for (let used = 0; used < 5; used++) {
      clock.advance(20 * MINUTE);
      assert.equal((await c.request('GET', '/console/overview')).status, 200, `at ${(used + 1) * 20} min`);
    }
    clock.advance(20 * MINUTE);
    assert.equal((await c.request('GET', '/console/overview')).status, 303, 'at 2 h');
  });

  test('sign-in attempts are rate-limited per address: past the limit even a right key gets the form with 429', async () => {
    const c = new ConsoleClient(app.url!);
    let refused: (Response & { text: string }) | undefined;
    // The limit is 4 a minute; earlier tests here may have spent some of it.
    for (let i = 0; i < 5 && !refused; i++) {
      const res = await c.signIn('lcn_adm_guess');
      if (res.status === 429) refused = res;
      else assert.equal(res.status, 401);
    }
    assert.ok(refused, 'the fifth attempt at the latest is refused');
    assert.match(refused.text, /Too many sign-in attempts/);
    const right = await c.signIn(ADMIN_KEY);
    assert.equal(right.status, 429);
    assert.equal(c.cookieLine(SESSION_COOKIE), undefined);
  });
});
