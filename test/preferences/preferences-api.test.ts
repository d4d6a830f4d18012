import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { notificationSettingsChanges, preferenceChanges } from '../../src/db/schema.ts';
import { insertUser, testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_test_admin_key_prefs';
const PATH = '/api/notifications/preferences/';

describe(`preferences API (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY, QUIET_HOURS_DEFAULT: '21:00-08:00' }),
      api: true,
      worker: false,
      database: t.database,
    });
  });
  after(async () => {
    await app.close();
    await t.close();
  });
  const db = () => t.database.db;

  async function call(method: string, path: string, credential: string, body?: unknown) {
    const res = await fetch(app.url + path, {
      method,
      headers: {
        authorization: `Bearer ${credential}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const tokenFor = async (id: string) => (await app.userTokens.issue(id, 600)).token;

  test("defaults: SMS off (opt-in), email and in-app on, push off, default quiet hours in the user's zone", async () => {
    await insertUser(db(), 'pref-defaults', { timeZone: 'Asia/Kathmandu' });
    const res = await call('GET', PATH, await tokenFor('pref-defaults'));
    assert.equal(res.status, 200);
    assert.equal(res.body['user_id'], 'pref-defaults');
    for (const category of ['order_updates', 'payment_updates', 'account', 'partner', 'promotions']) {
      assert.equal(res.body[`${category}_sms`], false);
      assert.equal(res.body[`${category}_email`], true);
      assert.equal(res.body[`${category}_in_app`], true);
      assert.equal(res.body[`${category}_push`], false);
    }
    assert.equal(res.body['quiet_hours_start'], '21:00');
    assert.equal(res.body['quiet_hours_end'], '08:00');
    assert.equal(res.body['time_zone'], 'Asia/Kathmandu');
  });

  test("the seed's PATCH body works verbatim with the user's token, and each change is recorded", async () => {
    const user = await insertUser(db(), 'pref-seed');
    const res = await call('PATCH', PATH, await tokenFor('pref-seed'), {
      order_updates_sms: true,
      payment_updates_sms: true,
    });
    assert.equal(res.status, 200);
    assert.equal(res.body['order_updates_sms'], true);
    assert.equal(res.body['payment_updates_sms'], true);
    assert.equal(res.body['account_sms'], false);
    const changes = await db().select().from(preferenceChanges).where(eq(preferenceChanges.userId, user.id));
    assert.deepEqual(
      changes.map((c) => [c.category, c.channel, c.fromEnabled, c.toEnabled, c.source, c.actor]).sort(),
      [
        ['order_updates', 'sms', false, true, 'api', 'user:pref-seed'],
        ['payment_updates', 'sms', false, true, 'api', 'user:pref-seed'],
      ],
    );
    // The same body again changes nothing, so records nothing.
    await call('PATCH', PATH, await tokenFor('pref-seed'), { order_updates_sms: true });
    assert.equal(
      (await db().select().from(preferenceChanges).where(eq(preferenceChanges.userId, user.id))).length,
      2,
    );
  });

  test('every <category>_<channel> flag can be set, by the backend with its API key and ?user_id=', async () => {
    await insertUser(db(), 'pref-all');
    const body = {
      promotions_email: false,
      account_push: true,
      partner_in_app: false,
      order_updates_sms: true,
    };
    const res = await call('PATCH', `${PATH}?user_id=pref-all`, ADMIN_KEY, body);
    assert.equal(res.status, 200);
    for (const [k, v] of Object.entries(body)) assert.equal(res.body[k], v, k);
    const again = await call('GET', `${PATH}?user_id=pref-all`, ADMIN_KEY);
    for (const [k, v] of Object.entries(body)) assert.equal(again.body[k], v, k);
    const [change] = await db()
      .select()
      .from(preferenceChanges)
      .where(eq(preferenceChanges.category, 'promotions'));
    assert.match(change?.actor ?? '', /^api_key:/);
  });

  test('an unknown field is a 400 naming it, and nothing is changed', async () => {
    await insertUser(db(), 'pref-typo');
    const token = await tokenFor('pref-typo');
    const res = await call('PATCH', PATH, token, { order_update_sms: true, order_updates_sms: true, foo: 1 });
    assert.equal(res.status, 400);
    assert.equal(res.body['code'], 'VALIDATION_FAILED');
    assert.deepEqual(res.body['unknown_fields'], ['order_update_sms', 'foo']);
    assert.match(String(res.body['detail']), /order_update_sms, foo/);
    assert.equal((await call('GET', PATH, token)).body['order_updates_sms'], false);
    assert.equal((await call('PATCH', PATH, token, { order_updates_sms: 'yes' })).status, 400);
  });

  test('quiet hours and time zone are read and changed here; off with nulls; each change recorded', async () => {
    const user = await insertUser(db(), 'pref-quiet');
    const token = await tokenFor('pref-quiet');
    let res = await call('PATCH', PATH, token, {
      quiet_hours_start: '22:30',
      quiet_hours_end: '07:15',
      time_zone: 'America/New_York',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      [res.body['quiet_hours_start'], res.body['quiet_hours_end'], res.body['time_zone']],
      ['22:30', '07:15', 'America/New_York'],
    );
    res = await call('PATCH', PATH, token, { quiet_hours_end: '06:00' });
    assert.deepEqual([res.body['quiet_hours_start'], res.body['quiet_hours_end']], ['22:30', '06:00']);
    res = await call('PATCH', PATH, token, { quiet_hours_start: null, quiet_hours_end: null });
    assert.deepEqual([res.body['quiet_hours_start'], res.body['quiet_hours_end']], [null, null]);
    assert.equal((await call('PATCH', PATH, token, { quiet_hours_start: '25:00' })).status, 400);
    assert.equal((await call('PATCH', PATH, token, { quiet_hours_start: '21:00' })).status, 400);
    assert.equal((await call('PATCH', PATH, token, { time_zone: 'Mars/Olympus' })).status, 400);
    const changes = await db()
      .select()
      .from(notificationSettingsChanges)
      .where(eq(notificationSettingsChanges.userId, user.id));
    assert.deepEqual(
      changes.map((c) => `${c.field}:${c.fromValue}->${c.toValue}`),
      [
        'quiet_hours_start:21:00->22:30',
        'quiet_hours_end:08:00->07:15',
        'time_zone:Asia/Kolkata->America/New_York',
        'quiet_hours_end:07:15->06:00',
        'quiet_hours_start:22:30->null',
        'quiet_hours_end:06:00->null',
      ],
    );
  });

  test("a user token cannot reach another user's preferences; an API key must name the user", async () => {
    await insertUser(db(), 'pref-a');
    await insertUser(db(), 'pref-b');
    const token = await tokenFor('pref-a');
    assert.equal((await call('GET', `${PATH}?user_id=pref-b`, token)).status, 404);
    assert.equal((await call('PATCH', `${PATH}?user_id=pref-b`, token, { account_sms: true })).status, 404);
    assert.equal((await call('GET', PATH, ADMIN_KEY)).status, 400);
    assert.equal((await call('GET', `${PATH}?user_id=nobody`, ADMIN_KEY)).status, 404);
    assert.equal((await call('GET', PATH, 'not-a-key')).status, 401);
  });
});
