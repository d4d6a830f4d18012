import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { TestClock } from '../../src/clock.ts';
import { preferenceChanges, users } from '../../src/db/schema.ts';
import { ConsoleClient } from '../console/console-client.ts';
import { startConsoleApp } from '../console/console-test-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_test_me_pages_admin_key';
const json = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

describe(`end-user pages (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let clock: TestClock;

  const api = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = json,
  ) => {
    const { 'content-type': _type, ...bare } = headers;
    const res = await fetch(app.url + path, {
      method,
      // An empty JSON body is refused: content-type only with a body.
      headers: body === undefined ? bare : headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const makeUser = async (id: string) => {
    const put = await api('PUT', `/api/v1/users/${id}`, { email: `${id}@example.com`, first_name: 'Asha' });
    assert.equal(put.status, 201, JSON.stringify(put.body));
  };
  const linkFor = async (id: string, page?: 'inbox' | 'preferences') => {
    const res = await api('POST', `/api/v1/users/${id}/links`, page ? { page } : {});
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { url: string; page: string; expires_at: string };
  };
  /** A browser that opened the user's link: it holds the session cookie. */
  const openAs = async (id: string, page?: 'inbox' | 'preferences') => {
    const link = await linkFor(id, page);
    const client = new ConsoleClient(app.url!);
    const res = await client.request('GET', new URL(link.url).pathname + new URL(link.url).search);
    assert.equal(res.status, 303, res.text);
    return { client, res, link };
  };
  const userToken = async (id: string) =>
    ((await api('POST', `/api/v1/users/${id}/token`)).body as { token: string }).token;
  const notify = async (id: string) => {
    const res = await api('POST', '/api/v1/notifications', {
      user_id: id,
      type: 'order_confirmed',
      context: getNotificationType('order_confirmed')!.sampleContext,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { notification_id: string };
  };

  before(async () => {
    t = await createTestDatabase();
    clock = new TestClock();
    app = await startConsoleApp(t, { adminKey: ADMIN_KEY, clock });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('the backend makes a link; opening it sets an HttpOnly Lax session cookie and drops the token from the URL', async () => {
    await makeUser('me-open');
    const { client, res, link } = await openAs('me-open');
    assert.equal(link.page, 'preferences');
    assert.match(link.url, /^http:\/\/.+\/me\/open\?token=[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(Date.parse(link.expires_at) - clock.now() <= 15 * 60_000);
    assert.equal(res.headers.get('location'), '/me/preferences');
    const cookie = client.cookieLine('lcn_me_session')!;
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\/me/);
    assert.doesNotMatch(cookie, /Secure/i, 'plain http here: Secure only behind an https PUBLIC_URL');
    const page = await client.request('GET', '/me/preferences');
    assert.equal(page.status, 200);
    assert.match(page.text, /<h1>Notification preferences<\/h1>/);
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.ok(!page.text.includes(new URL(link.url).searchParams.get('token')!), 'no token in the page');

    const inboxLink = await openAs('me-open', 'inbox');
    assert.equal(inboxLink.res.headers.get('location'), '/me/inbox');
  });

  test('an expired, forged or wrong kind of token is a 401 page that says so, and sets no session', async () => {
    await makeUser('me-refused');
    const link = await linkFor('me-refused');
    const path = new URL(link.url).pathname + new URL(link.url).search;
    const client = new ConsoleClient(app.url!);

    const forged = await client.request('GET', `${path.slice(0, -4)}AAAA`);
    assert.equal(forged.status, 401);
    assert.match(forged.headers.get('content-type')!, /text\/html/);
    assert.match(forged.text, /This link is not valid/);
    const missing = await client.request('GET', '/me/open');
    assert.equal(missing.status, 401);
    // A user token is not a link: a token meant for the API opens no pages.
    const asUserToken = await client.request('GET', `/me/open?token=${await userToken('me-refused')}`);
    assert.equal(asUserToken.status, 401);

    clock.advance(15 * 60_000 + 1_000);
    const expired = await client.request('GET', path);
    assert.equal(expired.status, 401);
    assert.match(expired.text, /This link has expired/);
    assert.equal(client.cookieLine('lcn_me_session'), undefined);

    const noSession = await client.request('GET', '/me/preferences');
    assert.equal(noSession.status, 401);
    assert.match(noSession.text, /session on these pages has ended/);
    assert.equal((await client.request('GET', '/me/socket-token')).status, 401);
  });

  test('a link for an unknown user is a 404, for an unknown page a 400', async () => {
    assert.equal((await api('POST', '/api/v1/users/nobody-here/links', {})).status, 404);
    const bad = await api('POST', '/api/v1/users/nobody-here/links', { page: 'console' });
    assert.equal(bad.status, 400);
  });

  test('saving the preference centre changes what the preferences API answers, recorded as the user', async () => {
    await makeUser('me-prefs');
    const { client } = await openAs('me-prefs');
    const csrf = await client.csrfFrom('/me/preferences');
    const token = await userToken('me-prefs');
    const asUser = { authorization: `Bearer ${token}` };
    const before = (await api('GET', '/api/notifications/preferences/', undefined, asUser)).body;
    assert.equal(before.promotions_email, true, JSON.stringify(before));

    // The form as a browser sends it: ticked boxes only, so every box left out is off.
    const form: Record<string, string> = { _csrf: csrf, locale: 'hi', time_zone: 'Europe/London' };
    for (const [k, v] of Object.entries(before)) if (v === true && k !== 'promotions_email') form[k] = 'on';
    form['quiet_hours_start'] = '22:00';
    form['quiet_hours_end'] = '07:30';
    const saved = await client.request('POST', '/me/preferences', form);
    assert.equal(saved.status, 303, saved.text);
    assert.equal(saved.headers.get('location'), '/me/preferences?saved=1');

    const afterView = (await api('GET', '/api/notifications/preferences/', undefined, asUser)).body;
    assert.deepEqual(afterView, {
      ...before,
      promotions_email: false,
      quiet_hours_start: '22:00',
      quiet_hours_end: '07:30',
      time_zone: 'Europe/London',
    });
    const user = (await api('GET', '/api/v1/users/me-prefs')).body;
    assert.equal(user.locale, 'hi');
    const [row] = await t.database.db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.externalId, 'me-prefs'));
    const changes = await t.database.db
      .select()
      .from(preferenceChanges)
      .where(eq(preferenceChanges.userId, row!.id));
    assert.deepEqual(
      changes.map((c) => [c.category, c.channel, c.toEnabled, c.actor]),
      [['promotions', 'email', false, 'user:me-prefs']],
    );

    const page = await client.request('GET', '/me/preferences?saved=1');
    assert.match(page.text, /role="status">Saved/);
    assert.match(page.text, /name="promotions_email" value="on">/, 'unticked');
    assert.match(page.text, /<option selected>Europe\/London<\/option>/);
  });

  test("the boxes are the user's: only what the catalog sends their role, and saving leaves the rest alone", async () => {
    await makeUser('me-offered');
    // Set over the API, not shown on the page (no promotion is sent by SMS): saving must keep it.
    const patched = await api('PATCH', '/api/notifications/preferences/?user_id=me-offered', {
      promotions_sms: true,
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const { client } = await openAs('me-offered');
    const page = await client.request('GET', '/me/preferences');
    assert.doesNotMatch(page.text, /name="promotions_sms"/);
    assert.match(page.text, /Offers and news by SMS: not sent/);
    assert.doesNotMatch(page.text, /Partner business/, 'a customer gets no partner notifications');
    assert.match(page.text, /We have no mobile number for you/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const saved = await client.request('POST', '/me/preferences', {
      _csrf: csrf,
      locale: 'en',
      time_zone: 'Asia/Kolkata',
    });
    assert.equal(saved.status, 303, saved.text);
    const view = (await api('GET', '/api/notifications/preferences/?user_id=me-offered')).body;
    assert.equal(view.promotions_sms, true, 'not shown, so not changed');
    assert.equal(view.order_updates_email, false, 'shown and left unticked: off');
    assert.equal(view.partner_email, true, 'not shown to a customer, so not changed');

    const partner = await api('PUT', '/api/v1/users/me-partner', { role: 'partner', phone: '+919876543210' });
    assert.equal(partner.status, 201, JSON.stringify(partner.body));
    const asPartner = (await openAs('me-partner')).client;
    const partnerPage = await asPartner.request('GET', '/me/preferences');
    assert.match(partnerPage.text, /name="partner_sms"/);
    assert.doesNotMatch(partnerPage.text, /Order updates/, 'order updates go to customers');
    assert.doesNotMatch(partnerPage.text, /We have no mobile number/);
  });

  test('a bad field is refused beside that field and nothing is saved', async () => {
    await makeUser('me-bad');
    const { client } = await openAs('me-bad');
    const csrf = await client.csrfFrom('/me/preferences');
    const res = await client.request('POST', '/me/preferences', {
      _csrf: csrf,
      locale: 'en',
      time_zone: 'Asia/Kolkata',
      quiet_hours_start: '22:00',
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /id="quiet_hours_start-error">set both quiet_hours_start and quiet_hours_end/);
    assert.match(res.text, /aria-invalid="true" aria-describedby="quiet_hours_start-error"/);
    const badLocale = await client.request('POST', '/me/preferences', {
      _csrf: csrf,
      locale: 'xx',
      time_zone: 'Asia/Kolkata',
    });
    assert.equal(badLocale.status, 400);
    assert.match(badLocale.text, /id="locale-error">must be one of: en, hi, ta/);
    const view = (await api('GET', '/api/notifications/preferences/?user_id=me-bad')).body;
    assert.equal(view.order_updates_email, true, 'the refused forms turned nothing off');
  });

  test('a form without its CSRF token is refused with 403 and changes nothing', async () => {
    await makeUser('me-csrf');
    const { client } = await openAs('me-csrf');
    const res = await client.request('POST', '/me/preferences', { locale: 'en', time_zone: 'Asia/Kolkata' });
    assert.equal(res.status, 403);
    assert.match(res.text, /Form refused/);
    const { notification_id } = await notify('me-csrf');
    assert.equal((await client.request('POST', `/me/inbox/${notification_id}/read`, {})).status, 403);
    assert.equal((await client.request('POST', '/me/inbox/read-all', { _csrf: 'forged' })).status, 403);
    const view = (await api('GET', '/api/notifications/preferences/?user_id=me-csrf')).body;
    assert.equal(view.order_updates_email, true);
  });

  test('the inbox lists notifications with the unread badge; mark read and mark all read as the API sees them', async () => {
    await makeUser('me-inbox');
    const first = await notify('me-inbox');
    const second = await notify('me-inbox');
    const { client } = await openAs('me-inbox', 'inbox');
    const page = await client.request('GET', '/me/inbox');
    assert.equal(page.status, 200);
    assert.match(page.text, /id="unread-badge" data-unread="2">2 unread</);
    assert.match(page.text, new RegExp(`data-newest="${second.notification_id}"`));
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;

    const read = await client.request('POST', `/me/inbox/${first.notification_id}/read`, { _csrf: csrf });
    assert.equal(read.status, 303);
    assert.equal(read.headers.get('location'), '/me/inbox');
    const unread = async () =>
      (await api('GET', '/api/v1/inbox/unread-count?user_id=me-inbox')).body.unread_count;
    assert.equal(await unread(), 1);
    assert.match((await client.request('GET', '/me/inbox')).text, /data-unread="1">1 unread</);

    assert.equal((await client.request('POST', '/me/inbox/read-all', { _csrf: csrf })).status, 303);
    assert.equal(await unread(), 0);
    const readAll = await client.request('GET', '/me/inbox');
    assert.match(readAll.text, /data-unread="0">0 unread</);
    assert.match(readAll.text, /<button type="submit" disabled>Mark all read/);

    // Another user's notification is not this user's to mark.
    await makeUser('me-other');
    const theirs = await notify('me-other');
    assert.equal(
      (await client.request('POST', `/me/inbox/${theirs.notification_id}/read`, { _csrf: csrf })).status,
      404,
    );
  });

  test("the page script's socket token is a short-lived user token for the session's user", async () => {
    await makeUser('me-socket');
    const { client } = await openAs('me-socket', 'inbox');
    const res = await client.request('GET', '/me/socket-token');
    assert.equal(res.status, 200);
    const body = JSON.parse(res.text) as { token: string; expires_at: string };
    assert.equal(await app.userTokens.verify(body.token), 'me-socket');
    assert.ok(Date.parse(body.expires_at) - Date.now() <= 5 * 60_000);
  });

  test('signing out ends the session', async () => {
    await makeUser('me-out');
    const { client } = await openAs('me-out');
    const csrf = await client.csrfFrom('/me/preferences');
    const out = await client.request('POST', '/me/sign-out', { _csrf: csrf });
    assert.equal(out.status, 200);
    assert.match(out.text, /You are signed out/);
    assert.equal((await client.request('GET', '/me/preferences')).status, 401);
  });
});
