import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import type { TemplatePreview } from '../../src/authoring/template-preview.ts';
import { listAudit } from '../../src/console/audit-log.ts';
import { diffLines } from '../../src/console/line-diff.ts';
import { notificationTemplates } from '../../src/db/schema.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { ConsoleClient } from './console-client.ts';
import { startConsoleApp } from './console-test-app.ts';

const ADMIN_KEY = 'lcn_test_console_templates_key';
const EDITOR = '/console/templates/order_ready/en/sms';
const GSM_160 = `LaundryConnect: ${'x'.repeat(144)}`;

describe(`console templates (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let admin: ConsoleClient;

  const versions = (type: string, field = 'sms') =>
    t.database.db
      .select()
      .from(notificationTemplates)
      .where(
        and(
          eq(notificationTemplates.type, type),
          eq(notificationTemplates.locale, 'en'),
          eq(notificationTemplates.field, field),
        ),
      )
      .orderBy(notificationTemplates.version);
  const audits = (type: string) =>
    listAudit(t.database.db, { targetType: 'template', targetId: `${type}/en/sms`, limit: 50 });
  const preview = async (c: ConsoleClient, source: string, token: string | null, type = 'order_ready') => {
    const res = await fetch(`${app.url}/console/templates/preview`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(token && { 'x-csrf-token': token }),
      },
      body: JSON.stringify({ type, locale: 'en', field: 'sms', source }),
    });
    return {
      status: res.status,
      body: (await res.json().catch(() => null)) as { preview: TemplatePreview; html: string } | null,
    };
  };

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, { adminKey: ADMIN_KEY });
    admin = new ConsoleClient(app.url!);
    assert.equal((await admin.signIn(ADMIN_KEY)).status, 303);
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('diffLines keeps common lines and marks what was removed and added', () => {
    assert.deepEqual(diffLines('a\nb\nc', 'a\nB\nc\nd'), [
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'added', text: 'B' },
      { kind: 'same', text: 'c' },
      { kind: 'added', text: 'd' },
    ]);
    assert.deepEqual(diffLines('', 'x'), [{ kind: 'added', text: 'x' }]);
  });

  test('the list shows type × channel × locale × field with version and lint, linking to the editor', async () => {
    const res = await admin.request('GET', '/console/templates');
    assert.equal(res.status, 200);
    assert.match(res.text, /<a href="\/console\/templates" aria-current="page">Templates<\/a>/);
    assert.ok(res.text.includes(`<a href="${EDITOR}"><code>order_ready</code></a>`));
    assert.ok(res.text.includes('href="/console/templates/order_ready/ta/push_body"'));
    // review_request sends no SMS: it has no SMS row to edit.
    assert.ok(!res.text.includes('/console/templates/review_request/en/sms'));
    // payment_completed's English SMS has ₹ in it: the lint warns (UCS-2 forced).
    const row = /<a href="\/console\/templates\/payment_completed\/en\/sms">[\s\S]*?<\/tr>/.exec(
      res.text,
    )?.[0];
    assert.match(row ?? '', /data-lint="warnings">\d+ warnings?</);
    assert.match(res.text, /shipped file/);
    // Narrowed on the server by a plain GET form; "All" is an empty parameter.
    const one = await admin.request('GET', '/console/templates?type=order_ready&channel=sms&locale=&lint=');
    assert.equal(one.status, 200);
    assert.equal(
      [...one.text.matchAll(/<a href="\/console\/templates\/order_ready\/(en|hi|ta)\/sms">/g)].length,
      3,
    );
    assert.match(one.text, /3 of \d+ templates match/);
    assert.equal((await admin.request('GET', '/console/templates?channel=fax')).status, 400);
  });

  test('the live preview is the server counting: 160 GSM-7 chars are 1 segment, 161 are 2, ₹ forces UCS-2', async () => {
    const token = await admin.csrfFrom(EDITOR);
    const one = await preview(admin, GSM_160, token);
    assert.equal(one.status, 200);
    assert.equal(one.body!.preview.sms!.encoding, 'GSM-7');
    assert.equal(one.body!.preview.sms!.characters, 160);
    assert.equal(one.body!.preview.sms!.segments, 1);
    assert.match(one.body!.html, /id="sms-segments" data-segments="1"/);
    const two = await preview(admin, `${GSM_160}x`, token);
    assert.equal(two.body!.preview.sms!.segments, 2);
    assert.match(two.body!.html, /id="sms-segments" data-segments="2"/);
    const rupee = await preview(admin, 'LaundryConnect: ₹{{ order.order_number }} {{ order.nope }}', token);
    assert.equal(rupee.body!.preview.sms, undefined, 'a missing variable does not render');
    assert.deepEqual(rupee.body!.preview.variables.missing, ['order.nope']);
    const ucs = await preview(admin, 'LaundryConnect: ₹ {{ order.order_number }}', token);
    assert.equal(ucs.body!.preview.sms!.encoding, 'UCS-2');
    assert.match(ucs.body!.html, /id="sms-forcing" data-char="₹"/);
    assert.ok(ucs.body!.preview.sms_cost!.amount > 0);
    // A DLT-registered text: the preview says whether the new text still matches.
    const dlt = await preview(admin, 'LaundryConnect: changed', token, 'order_delivered');
    assert.equal(dlt.body!.preview.dlt!.matches, false);
    assert.equal(dlt.body!.preview.check.errors[0]!.code, 'SMS_DLT_MISMATCH');
    assert.equal((await preview(admin, GSM_160, null)).status, 403, 'no CSRF token');
    // Signed out, the browser keeps its CSRF cookie: the token passes and the session check answers.
    const gone = new ConsoleClient(app.url!);
    await gone.signIn(ADMIN_KEY);
    const goneToken = await gone.csrfFrom(EDITOR);
    assert.equal((await gone.request('POST', '/console/logout', { _csrf: goneToken })).status, 303);
    assert.equal((await preview(gone, GSM_160, goneToken)).status, 401, 'signed out');
  });

  test('save makes a new active version, audited with before and after; the diff shows the change', async () => {
    const token = await admin.csrfFrom(EDITOR);
    const source =
      'LaundryConnect: Order #{{ order.order_number }} is ready. Delivery {{ order.delivery_date }}.';
    const res = await admin.request('POST', EDITOR, {
      _csrf: token,
      source: source.replace(' is', '\r\n is'),
    });
    assert.equal(res.status, 303, res.text);
    const saved = await versions('order_ready');
    const active = saved.find((v) => v.active)!;
    assert.equal(active.source, source.replace(' is', '\n is'), 'CRLF from the form stored as LF');
    assert.match(res.headers.get('location')!, new RegExp(`\\?saved=${active.version}$`));
    assert.equal(app.templates.get('order_ready', 'sms', 'en')!.version, active.version, 'sends use it now');
    const [entry] = (await audits('order_ready')).entries;
    assert.equal(entry!.action, 'template.saved');
    assert.deepEqual(entry!.after, { version: active.version, source: active.source });
    assert.equal((entry!.before as { version: number | null }).version, null, 'was the shipped file');

    const again = await admin.request('POST', EDITOR, { _csrf: token, source: `${active.source}\nSee you!` });
    assert.equal(again.status, 303);
    const page = await admin.request('GET', `${EDITOR}?diff=${active.version + 1}`);
    assert.match(page.text, /Saved as version|Diff with the previous version/);
    assert.match(page.text, /<ins>\+ See you!\n<\/ins>/);
    assert.match(page.text, /<tr data-version="2">/);
  });

  test('a template that fails lint is refused with the error shown, and nothing is saved or audited', async () => {
    const token = await admin.csrfFrom(EDITOR);
    const before = (await versions('order_ready')).length;
    const auditsBefore = (await audits('order_ready')).entries.length;
    const res = await admin.request('POST', EDITOR, { _csrf: token, source: 'LaundryConnect: {% if %}' });
    assert.equal(res.status, 422);
    assert.match(res.text, /role="alert" id="template-refused"/);
    assert.match(res.text, /TEMPLATE_INVALID/);
    assert.ok(res.text.includes('{% if %}</textarea>'), 'the refused text stays to be fixed');
    assert.equal((await versions('order_ready')).length, before);
    assert.equal((await audits('order_ready')).entries.length, auditsBefore);
    const dlt = await admin.request('POST', '/console/templates/order_delivered/en/sms', {
      _csrf: token,
      source: 'LaundryConnect: changed',
      dlt_template_id: '1107170000000000001',
      dlt_text: 'LaundryConnect: Order #{#var#} delivered.',
    });
    assert.equal(dlt.status, 422);
    assert.match(dlt.text, /SMS_DLT_MISMATCH/);
  });

  test('revert makes a new version with the old text and keeps the history', async () => {
    const token = await admin.csrfFrom(EDITOR);
    const before = await versions('order_ready');
    const first = before[0]!;
    const res = await admin.request('POST', `${EDITOR}/revert`, {
      _csrf: token,
      version: String(first.version),
    });
    assert.equal(res.status, 303, res.text);
    const after = await versions('order_ready');
    assert.equal(after.length, before.length + 1);
    const active = after.find((v) => v.active)!;
    assert.equal(active.version, before.at(-1)!.version + 1);
    assert.equal(active.source, first.source);
    assert.deepEqual(
      after.slice(0, before.length).map((v) => v.source),
      before.map((v) => v.source),
      'old versions unchanged',
    );
    const [entry] = (await audits('order_ready')).entries;
    assert.equal(entry!.action, 'template.reverted');
    assert.equal((entry!.after as { reverted_from: number }).reverted_from, first.version);
    const page = await admin.request('GET', res.headers.get('location')!.replace(app.url!, ''));
    assert.match(
      page.text,
      new RegExp(`Reverted: version ${active.version} is a copy of version ${first.version}`),
    );
  });

  test('send a test renders the saved text and sends it through the sandbox, audited with its sid', async () => {
    const token = await admin.csrfFrom(EDITOR);
    const res = await admin.request('POST', `${EDITOR}/test`, { _csrf: token, to: '+919876543210' });
    assert.equal(res.status, 200, res.text);
    const sid = /<code id="test-sid">(SM[0-9a-f]+)<\/code>/.exec(res.text)?.[1];
    assert.ok(sid, res.text.slice(0, 2000));
    assert.match(res.text, /id="test-status">queued|id="test-status">accepted|id="test-status">sent/);
    const [entry] = (await audits('order_ready')).entries;
    assert.equal(entry!.action, 'template.test_sent');
    assert.equal((entry!.after as { sid: string }).sid, sid);
    const bad = await admin.request('POST', `${EDITOR}/test`, { _csrf: token, to: '98765 43210' });
    assert.equal(bad.status, 422);
    assert.match(bad.text, /Test not sent: Invalid phone number format/);
  });

  test('a viewer sees the editor read-only, and a forged save gets 403 in the console and over the API', async () => {
    const viewerKey = await createApiKey(t.database.db, 'templates viewer', 'viewer');
    const viewer = new ConsoleClient(app.url!);
    assert.equal((await viewer.signIn(viewerKey)).status, 303);
    const page = await viewer.request('GET', EDITOR);
    assert.equal(page.status, 200);
    assert.match(page.text, /id="read-only-note"/);
    assert.match(page.text, /<textarea id="template-source"[^>]*readonly/);
    assert.ok(!page.text.includes('Save as a new version'));
    assert.ok(!page.text.includes('Revert to v'));
    assert.ok(!page.text.includes('Send a test SMS'));
    const token = await viewer.csrfFrom(EDITOR);
    assert.equal((await preview(viewer, GSM_160, token)).status, 200, 'a viewer may preview');
    const before = (await versions('order_ready')).length;
    for (const [path, form] of [
      [EDITOR, { source: 'LaundryConnect: forged' }],
      [`${EDITOR}/revert`, { version: '1' }],
      [`${EDITOR}/test`, { to: '+919876543210' }],
    ] as const) {
      const res = await viewer.request('POST', path, { _csrf: token, ...form });
      assert.equal(res.status, 403, path);
    }
    assert.equal((await versions('order_ready')).length, before);
    const api = await fetch(`${app.url}/api/v1/templates/order_ready/en/sms`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${viewerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'LaundryConnect: forged' }),
    });
    assert.equal(api.status, 403);
    assert.equal((await versions('order_ready')).length, before);
  });

  test('a state-changing request without the CSRF token, or with another one, is refused', async () => {
    const before = (await versions('order_ready')).length;
    const missing = await admin.request('POST', EDITOR, { source: 'LaundryConnect: no token' });
    assert.equal(missing.status, 403);
    assert.match(missing.text, /Form refused/);
    const wrong = await admin.request('POST', `${EDITOR}/revert`, { _csrf: 'not-a-token', version: '1' });
    assert.equal(wrong.status, 403);
    assert.equal((await versions('order_ready')).length, before);
  });
});

describe(`console templates with Twilio as the backend (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, {
      adminKey: ADMIN_KEY,
      env: {
        SMS_BACKEND: 'twilio',
        TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
        TWILIO_AUTH_TOKEN: 'f'.repeat(32),
        TWILIO_PHONE_NUMBER: '+15005550006',
      },
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('there is no test button, and a forged test send is refused before anything is sent', async () => {
    const admin = new ConsoleClient(app.url!);
    assert.equal((await admin.signIn(ADMIN_KEY)).status, 303);
    const page = await admin.request('GET', EDITOR);
    assert.ok(!page.text.includes('Send a test SMS'));
    const token = await admin.csrfFrom(EDITOR);
    const res = await admin.request('POST', `${EDITOR}/test`, { _csrf: token, to: '+919876543210' });
    assert.equal(res.status, 403);
    assert.match(res.text, /sandbox only/);
  });
});
