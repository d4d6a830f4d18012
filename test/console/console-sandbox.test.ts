import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { listAudit } from '../../src/console/audit-log.ts';
import { twimlReplies } from '../../src/console/sandbox-thread.ts';
import { notificationPreferences } from '../../src/db/schema.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, notify, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { ConsoleClient } from './console-client.ts';
import { startConsoleApp } from './console-test-app.ts';

const UNTHROTTLED = { CONSOLE_SIGN_IN_ATTEMPTS_PER_MINUTE: '1000' };
const path = (number: string, rest = '') => `/console/sandbox/${encodeURIComponent(number)}${rest}`;

describe(`console sandbox phone (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let admin: ConsoleClient;

  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, UNTHROTTLED);
    admin = new ConsoleClient(app.url!);
    assert.equal((await admin.signIn(ADMIN_KEY)).status, 303);
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });
  const db = () => t.database.db;
  const smsOn = async (userId: number) =>
    (
      await db()
        .select()
        .from(notificationPreferences)
        .where(and(eq(notificationPreferences.userId, userId), eq(notificationPreferences.channel, 'sms')))
    ).filter((p) => p.enabled).length;
  const audit = async (number: string) =>
    (await listAudit(db(), { targetType: 'sandbox_number', targetId: number, limit: 10 })).entries;
  /** A form on the number's page, with its CSRF token. */
  const post = async (c: ConsoleClient, number: string, rest: string, form: Record<string, string>) => {
    const token = await c.csrfFrom(path(number));
    return c.request('POST', path(number, rest), { _csrf: token, ...form });
  };

  test('the list and the thread show a notification SMS with its status-callback timeline', async () => {
    const phone = '+919876500001';
    await smsUser(db(), 'sb-thread', phone);
    const id = await notify(app, 'sb-thread');
    await waitForSmsStatus(db(), id, 'delivered');
    const sent = app.sms.sandbox!.messages().find((m) => m.to === phone)!;
    // The status walk may still be sending its last callback: wait for the sandbox's own end.
    await waitFor(async () => sent.status === 'delivered', 15_000, 'the sandbox walk done');

    const list = await admin.request('GET', '/console/sandbox');
    assert.equal(list.status, 200);
    assert.match(
      list.text,
      /<a href="\/console\/sandbox" aria-current="page">Sandbox phone<\/a>/,
      'the NAV entry',
    );
    assert.ok(list.text.includes(`<a href="${path(phone)}">${phone}</a>`), 'the number, in full');

    const page = await admin.request('GET', path(phone));
    assert.equal(page.status, 200);
    assert.ok(page.text.includes(`data-sid="${sent.sid}"`));
    assert.ok(page.text.includes(sent.body.replaceAll('&', '&amp;').replaceAll("'", '&#39;')), 'the text');
    const timeline = /<ol class="timeline"[^>]*>(.*?)<\/ol>/s.exec(page.text)![1]!;
    assert.deepEqual(
      [...timeline.matchAll(/<span class="status">(\w+)<\/span>/g)].map((m) => m[1]),
      sent.history.map((h) => h.status),
    );
    assert.equal(sent.history.at(0)?.status, 'queued');
    assert.equal(sent.history.at(-1)?.status, 'delivered');
    assert.match(page.text, /<script type="module" src="\/console\/assets\/sandbox\.js"><\/script>/);

    const data = await admin.request('GET', path(phone, '/thread'));
    assert.equal(data.status, 200);
    const view = JSON.parse(data.text) as { version: string; markup: string };
    assert.ok(view.markup.includes(`data-sid="${sent.sid}"`));
    assert.ok(page.text.includes(`data-version="${view.version}"`), 'nothing changed since the page');
    assert.equal((await new ConsoleClient(app.url!).request('GET', path(phone, '/thread'))).status, 401);
  });

  test('STOP from the sandbox phone turns the user’s SMS off, through the signed webhook, audited', async () => {
    const phone = '+919876500002';
    const user = await smsUser(db(), 'sb-stop', phone);
    assert.ok((await smsOn(user.id)) > 0);
    const res = await post(admin, phone, '/inbound', { body: 'STOP' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), path(phone));
    assert.equal(await smsOn(user.id), 0, 'every SMS preference off');

    const page = await admin.request('GET', path(phone));
    assert.match(page.text, /<li class="bubble in" data-sid="SM[0-9a-f]{32}"><p class="text">STOP<\/p>/);
    assert.match(page.text, /inbound webhook answered HTTP 200 with no reply text/);
    const [entry] = await audit(phone);
    assert.equal(entry!.action, 'sandbox.inbound_sent');
    assert.deepEqual(entry!.after, { from: phone, to: app.sms.from, body: 'STOP' });

    await post(admin, phone, '/inbound', { body: 'HELP' });
    const help = await admin.request('GET', path(phone));
    assert.match(help.text, /<p class="text">LaundryConnect: order and payment alerts\. Msg&amp;data rates/);

    const empty = await post(admin, phone, '/inbound', { body: '  ' });
    assert.equal(empty.status, 400);
    assert.match(empty.text, /type a text to send/);
  });

  test('a fault set for a number fails its next SMS as set; cleared, the next one is delivered', async () => {
    const phone = '+919876500003';
    await smsUser(db(), 'sb-fault', phone);
    const set = await post(admin, phone, '/faults', { finalStatus: 'failed', errorCode: '30006' });
    assert.equal(set.status, 303);
    assert.deepEqual(app.sms.sandbox!.faults().byNumber?.[phone], {
      finalStatus: 'failed',
      errorCode: 30006,
    });
    const page = await admin.request('GET', path(phone));
    assert.match(page.text, /<li><code>errorCode<\/code>: 30006<\/li>/);
    assert.match(page.text, /<option value="failed" selected>/);

    const failing = await notify(app, 'sb-fault');
    await waitForSmsStatus(db(), failing, 'failed');
    await waitFor(
      async () => app.sms.sandbox!.messages().find((m) => m.to === phone)?.status === 'failed',
      15_000,
      'the sandbox walk ended failed',
    );
    assert.match((await admin.request('GET', path(phone))).text, /<span class="code">error 30006/);

    const cleared = await post(admin, phone, '/faults/clear', {});
    assert.equal(cleared.status, 303);
    assert.equal(app.sms.sandbox!.faults().byNumber?.[phone], undefined);
    const fine = await notify(app, 'sb-fault');
    await waitForSmsStatus(db(), fine, 'delivered');

    const entries = await audit(phone);
    assert.deepEqual(
      entries.map((e) => [e.action, e.before, e.after]),
      [
        ['sandbox.fault_cleared', { finalStatus: 'failed', errorCode: 30006 }, null],
        ['sandbox.fault_set', null, { finalStatus: 'failed', errorCode: 30006 }],
      ],
    );

    const bad = await post(admin, phone, '/faults', { rate429: '2' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Fault not set: rate429/);
    assert.equal((await audit(phone)).length, 2, 'a refused form records nothing');
  });

  test('a viewer may look but not send or set faults; a form without its CSRF token is refused', async () => {
    const phone = '+919876500004';
    const viewer = new ConsoleClient(app.url!);
    assert.equal((await viewer.signIn(await createApiKey(db(), 'sandbox viewer', 'viewer'))).status, 303);
    const seen = await viewer.request('GET', path(phone));
    assert.equal(seen.status, 200);
    assert.ok(!seen.text.includes('/inbound"') && !seen.text.includes('class="fault-form"'), 'no forms');
    assert.match(seen.text, /need an admin key/);
    assert.equal((await post(viewer, phone, '/inbound', { body: 'STOP' })).status, 403);
    assert.equal((await post(viewer, phone, '/faults', { rate5xx: '1' })).status, 403);
    const noCsrf = await admin.request('POST', path(phone, '/faults'), { rate5xx: '1' });
    assert.equal(noCsrf.status, 403);
    assert.match(noCsrf.text, /Form refused/);
    assert.equal(app.sms.sandbox!.faults().byNumber?.[phone], undefined);
    assert.deepEqual(await audit(phone), []);
  });

  test('TwiML replies are read as Twilio would text them', () => {
    assert.deepEqual(
      twimlReplies('<Response><Message>a &amp; b</Message><Message to="x">c</Message></Response>'),
      ['a & b', 'c'],
    );
    assert.deepEqual(twimlReplies('<Response></Response>'), []);
  });
});

describe(`console sandbox phone without the in-process sandbox (${ENGINE})`, () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    [
      'an external sandbox',
      // No Twilio account is given for it here: Vonage (the sandbox's fixed account) sends.
      { SMS_BACKEND: 'sandbox', SMS_SANDBOX_URL: 'http://127.0.0.1:9', SMS_PROVIDERS: 'vonage' },
      /SMS_SANDBOX_URL/,
    ],
    [
      'Twilio',
      {
        TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
        TWILIO_AUTH_TOKEN: '0'.repeat(32),
        TWILIO_PHONE_NUMBER: '+15005550006',
      },
      /sends SMS through Twilio/,
    ],
  ];
  for (const [name, env, why] of cases) {
    test(`with ${name} the page is a 404 that says why, and not in the menu`, async () => {
      const t = await createTestDatabase();
      const key = 'lcn_test_console_sandbox_absent';
      // A start that fails must still close the database (an open one keeps the file's process alive).
      const app = await startConsoleApp(t, { adminKey: key, env }).catch(async (err) => {
        await t.close();
        throw err;
      });
      try {
        const c = new ConsoleClient(app.url!);
        await c.signIn(key);
        for (const p of ['/console/sandbox', path('+919876500009')]) {
          const res = await c.request('GET', p);
          assert.equal(res.status, 404, p);
          assert.match(res.text, why);
        }
        const overview = await c.request('GET', '/console/overview');
        assert.equal(overview.status, 200);
        assert.ok(!overview.text.includes('Sandbox phone'), 'no NAV entry');
      } finally {
        await app.close();
        await t.close();
      }
    });
  }
});
