import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { createApiKey, findApiKey } from '../../src/auth/api-keys.ts';
import { listAudit } from '../../src/console/audit-log.ts';
import { changedPreferences } from '../../src/console/users-page.ts';
import {
  notificationPreferences,
  notificationSettings,
  notifications,
  preferenceChanges,
} from '../../src/db/schema.ts';
import { optOutOfSms } from '../../src/preferences/sms-opt-out.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { notify, smsUser } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { ConsoleClient } from './console-client.ts';
import { startConsoleApp } from './console-test-app.ts';

const ADMIN_KEY = 'lcn_test_console_users_key';

/** The preferences form as a browser would post it: ticked boxes, the text fields, the CSRF token. */
function formOf(page: string): Record<string, string> {
  const form: Record<string, string> = {};
  for (const m of page.matchAll(/<input ([^>]*)>/g)) {
    const attrs = m[1]!;
    const name = /name="([^"]+)"/.exec(attrs)?.[1];
    if (!name || name === 'q') continue;
    const value = /value="([^"]*)"/.exec(attrs)?.[1] ?? '';
    if (attrs.includes('type="checkbox"')) {
      if (/\schecked\b/.test(attrs)) form[name] = value;
    } else form[name] = value;
  }
  return form;
}

describe(`console users pages (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let admin: ConsoleClient;
  let adminName: string;

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, {
      adminKey: ADMIN_KEY,
      env: { SMS_DAILY_CAP_PER_USER: '3', SMS_MONTHLY_CAP_PER_USER: '50' },
    });
    admin = new ConsoleClient(app.url!);
    assert.equal((await admin.signIn(ADMIN_KEY)).status, 303);
    adminName = (await findApiKey(t.database.db, ADMIN_KEY))!.name;
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('search finds a user by exact id, email or phone (typed with spaces), with the phone masked', async () => {
    await insertUser(t.database.db, 'u-search', {
      email: 'ravi@example.com',
      phone: '+919812345678',
      firstName: 'Ravi',
      lastName: 'Kumar',
    });
    for (const q of ['u-search', 'ravi@example.com', '+91 98123-45678']) {
      const page = await admin.request('GET', `/console/users?q=${encodeURIComponent(q)}`);
      assert.equal(page.status, 200);
      assert.match(page.text, /<a href="\/console\/users\/u-search">u-search<\/a>/, q);
      assert.match(page.text, /Ravi Kumar/);
      assert.ok(page.text.includes('+91********78'), 'masked phone');
      assert.ok(!page.text.includes('9812345678'), 'never the whole number');
    }
    const none = await admin.request('GET', '/console/users?q=ravi%40example');
    assert.match(none.text, /No user matches “ravi@example”/, 'exact, not a prefix');
    const form = await admin.request('GET', '/console/users');
    assert.match(form.text, /<label for="q">User id, email or phone<\/label>/);
    assert.match(form.text, /aria-current="page">Users</);
  });

  test('results are bounded, with a link to the next page', async () => {
    for (let i = 0; i < 27; i++)
      await insertUser(t.database.db, `u-shared-${String(i).padStart(2, '0')}`, {
        email: 'shared@example.com',
      });
    const first = await admin.request('GET', '/console/users?q=shared%40example.com');
    assert.equal([...first.text.matchAll(/href="\/console\/users\/u-shared-/g)].length, 25);
    const next = /<a rel="next" href="([^"]+)">More users<\/a>/.exec(first.text)?.[1];
    assert.ok(next, 'a next link');
    const second = await admin.request('GET', next.replaceAll('&amp;', '&'));
    assert.deepEqual(
      [...second.text.matchAll(/href="\/console\/users\/(u-shared-\d+)"/g)].map((m) => m[1]),
      ['u-shared-25', 'u-shared-26'],
    );
    assert.doesNotMatch(second.text, /More users/);
  });

  test('the user page shows profile, preferences, SMS caps used against the limits, and notifications', async () => {
    await smsUser(t.database.db, 'u-page', '+919876543210');
    await notify(app, 'u-page');
    await notify(app, 'u-page');
    const page = await admin.request('GET', '/console/users/u-page');
    assert.equal(page.status, 200);
    assert.match(page.text, /<h1>User u-page<\/h1>/);
    assert.ok(page.text.includes('+91********10') && !page.text.includes('9876543210'), 'masked phone');
    assert.match(
      page.text,
      /<dt>Time zone<\/dt><dd id="time-zone">Asia\/Kolkata <span class="note">\(from the phone number\)<\/span><\/dd>/,
    );
    assert.match(page.text, /<dd data-cap="today">2 of 3<\/dd>/);
    assert.match(page.text, /<dd data-cap="month">2 of 50<\/dd>/);
    assert.match(page.text, /<strong>Opted in<\/strong>: SMS on for 5 of 5 categories/);
    assert.match(
      page.text,
      /name="order_updates_sms" id="order_updates_sms" value="on" aria-label="Order updates: SMS" checked/,
    );
    assert.equal([...page.text.matchAll(/<code>order_confirmed<\/code>/g)].length, 2);
    assert.match(page.text, /SMS: queued/);
    assert.match(page.text, /href="\/console\/activity\?user_id=u-page"/);
    assert.match(page.text, /<button type="submit">Save preferences<\/button>/);
    const missing = await admin.request('GET', '/console/users/nobody');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /No user with id &quot;nobody&quot;/);
  });

  test('saving the form changes the preferences through the service, with preference_changes and an audit entry', async () => {
    const user = await insertUser(t.database.db, 'u-edit', { phone: '+919800000001' });
    const page = await admin.request('GET', '/console/users/u-edit');
    assert.match(page.text, /<strong>Opted out<\/strong>/);
    const form = formOf(page.text);
    assert.equal(form['order_updates_sms'], undefined, 'SMS is off by default');
    const saved = await admin.request('POST', '/console/users/u-edit/preferences', {
      ...form,
      order_updates_sms: 'on',
      quiet_hours_start: '22:00',
      quiet_hours_end: '07:00',
    });
    assert.equal(saved.status, 303, saved.text);
    assert.equal(saved.headers.get('location'), '/console/users/u-edit?saved=1#preferences');

    const db = t.database.db;
    const [pref] = await db
      .select()
      .from(notificationPreferences)
      .where(and(eq(notificationPreferences.userId, user.id), eq(notificationPreferences.channel, 'sms')));
    assert.deepEqual([pref!.category, pref!.enabled], ['order_updates', true]);
    const changes = await db.select().from(preferenceChanges).where(eq(preferenceChanges.userId, user.id));
    assert.deepEqual(
      changes.map((c) => [c.category, c.channel, c.fromEnabled, c.toEnabled, c.source, c.actor]),
      [['order_updates', 'sms', false, true, 'api', `console:${adminName}`]],
      'only the ticked box changed',
    );
    const [settings] = await db
      .select()
      .from(notificationSettings)
      .where(eq(notificationSettings.userId, user.id));
    assert.deepEqual([settings!.quietHoursStart, settings!.quietHoursEnd], ['22:00', '07:00']);
    // The same rule as the API: turning SMS on sends the opt-in confirmation.
    const sent = await db.select().from(notifications).where(eq(notifications.userId, user.id));
    assert.deepEqual(
      sent.map((n) => n.type),
      ['sms_opt_in_confirmed'],
    );

    const { entries } = await listAudit(db, { targetType: 'user', targetId: 'u-edit', limit: 10 });
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.action, 'preference.changed');
    assert.equal(entries[0]!.actor, adminName);
    assert.deepEqual(entries[0]!.before, {
      order_updates_sms: false,
      quiet_hours_start: null,
      quiet_hours_end: null,
    });
    assert.deepEqual(entries[0]!.after, {
      order_updates_sms: true,
      quiet_hours_start: '22:00',
      quiet_hours_end: '07:00',
    });

    const shown = await admin.request('GET', '/console/users/u-edit?saved=1');
    assert.match(shown.text, /<p class="saved" role="status">Preferences saved.<\/p>/);
    assert.match(shown.text, /aria-label="Order updates: SMS" checked/);
    assert.match(shown.text, /<td>off → on<\/td>\s*<td>API or console \(console:/);

    // Saving again unchanged changes nothing and records nothing.
    const again = await admin.request('POST', '/console/users/u-edit/preferences', formOf(shown.text));
    assert.equal(again.status, 303);
    assert.equal(
      (await listAudit(db, { targetType: 'user', targetId: 'u-edit', limit: 10 })).entries.length,
      1,
    );
  });

  test('an invalid quiet-hours time is refused next to its field, and nothing is saved', async () => {
    const user = await insertUser(t.database.db, 'u-invalid');
    const form = formOf((await admin.request('GET', '/console/users/u-invalid')).text);
    const refused = await admin.request('POST', '/console/users/u-invalid/preferences', {
      ...form,
      promotions_sms: 'on',
      quiet_hours_start: '25:00',
      quiet_hours_end: '07:00',
    });
    assert.equal(refused.status, 400);
    assert.match(refused.text, /role="alert"><p>Not saved: must be a time &quot;HH:MM&quot;/);
    assert.match(
      refused.text,
      /id="quiet_hours_start" name="quiet_hours_start" value="25:00" aria-describedby="quiet-help quiet_hours_start-error" aria-invalid="true"/,
    );
    assert.match(refused.text, /<p class="field-error" id="quiet_hours_start-error">must be a time/);
    assert.match(refused.text, /aria-label="Promotions: SMS" checked/, 'the submission is kept');
    const db = t.database.db;
    assert.deepEqual(
      await db.select().from(preferenceChanges).where(eq(preferenceChanges.userId, user.id)),
      [],
    );
    assert.deepEqual(
      await db.select().from(notificationSettings).where(eq(notificationSettings.userId, user.id)),
      [],
    );
    assert.equal(
      (await listAudit(db, { targetType: 'user', targetId: 'u-invalid', limit: 10 })).entries.length,
      0,
    );

    const badZone = await admin.request('POST', '/console/users/u-invalid/preferences', {
      ...form,
      time_zone: 'Mars/Olympus',
    });
    assert.equal(badZone.status, 400);
    assert.match(badZone.text, /id="time_zone-error">must be an IANA time zone/);
  });

  test('a viewer sees the form read-only and a forged post is refused with 403', async () => {
    const user = await insertUser(t.database.db, 'u-viewer');
    const viewer = new ConsoleClient(app.url!);
    assert.equal(
      (await viewer.signIn(await createApiKey(t.database.db, 'users viewer', 'viewer'))).status,
      303,
    );
    const page = await viewer.request('GET', '/console/users/u-viewer');
    assert.equal(page.status, 200);
    assert.match(page.text, /<fieldset disabled aria-describedby="read-only">/);
    assert.match(page.text, /Read-only: a viewer key may look but not change/);
    assert.doesNotMatch(page.text, /Save preferences/);
    const forged = await viewer.request('POST', '/console/users/u-viewer/preferences', {
      ...formOf(page.text),
      order_updates_sms: 'on',
    });
    assert.equal(forged.status, 403);
    assert.deepEqual(
      await t.database.db.select().from(preferenceChanges).where(eq(preferenceChanges.userId, user.id)),
      [],
    );
  });

  test('a post without the CSRF token is refused with 403 and changes nothing', async () => {
    const user = await insertUser(t.database.db, 'u-csrf');
    const { _csrf, ...form } = formOf((await admin.request('GET', '/console/users/u-csrf')).text);
    assert.ok(_csrf);
    const refused = await admin.request('POST', '/console/users/u-csrf/preferences', {
      ...form,
      order_updates_sms: 'on',
    });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /Form refused/);
    assert.deepEqual(
      await t.database.db.select().from(preferenceChanges).where(eq(preferenceChanges.userId, user.id)),
      [],
    );
  });

  test('a STOP reply shows as opted out, with the STOP in the SMS history', async () => {
    const user = await smsUser(t.database.db, 'u-stop', '+919800000002');
    await optOutOfSms(t.database.db, user.id, 'stop_keyword', 'STOP');
    const page = await admin.request('GET', '/console/users/u-stop');
    assert.match(page.text, /<strong>Opted out<\/strong>: SMS off in every category/);
    assert.doesNotMatch(page.text, /aria-label="[^"]+: SMS" checked/);
    assert.equal([...page.text.matchAll(/<td>on → off<\/td>\s*<td>STOP reply: STOP<\/td>/g)].length, 5);
  });

  test('changedPreferences keeps only the fields that differ', () => {
    assert.deepEqual(
      changedPreferences(
        { user_id: 'a', order_updates_sms: false, time_zone: 'Asia/Kolkata' },
        { user_id: 'a', order_updates_sms: true, time_zone: 'Asia/Kolkata' },
      ),
      {
        fields: ['order_updates_sms'],
        before: { order_updates_sms: false },
        after: { order_updates_sms: true },
      },
    );
  });
});
