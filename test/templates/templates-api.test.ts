import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, notify, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

describe(`template admin API (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t);
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  const call = (method: string, path: string, body?: unknown, key = ADMIN_KEY) =>
    fetch(`${app.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  test('an edited SMS template becomes a new active version and the next SMS uses it', async () => {
    const path = '/api/v1/templates/order_picked_up/en/sms';
    const source =
      'LaundryConnect: We picked up order #{{ order.order_number }}. Fresh clothes soon, {{ first_name }}!';
    const res = await call('PUT', path, { source });
    assert.equal(res.status, 200, await res.clone().text());
    const saved = (await res.json()) as { version: number; changed: boolean };
    assert.equal(saved.changed, true);
    const again = (await (await call('PUT', path, { source: `${source} ` })).json()) as { version: number };
    assert.equal(again.version, saved.version + 1);
    const history = (await (await call('GET', path)).json()) as {
      versions: Array<{ version: number; active: boolean }>;
    };
    assert.deepEqual(
      history.versions.filter((v) => v.active).map((v) => v.version),
      [again.version],
    );
    assert.ok(history.versions.length >= 2);
    await smsUser(t.database.db, 'tpl-user', '+919876500401');
    const id = await notify(app, 'tpl-user', 'order_picked_up');
    const d = await waitForSmsStatus(t.database.db, id, 'delivered');
    const msg = await waitFor(async () =>
      app.sms.sandbox!.messages().find((m) => m.sid === d.providerMessageId),
    );
    assert.match(msg.body, /Fresh clothes soon, Asha!/);
  });

  test('a template that does not parse is refused with 422 and nothing is saved', async () => {
    const path = '/api/v1/templates/order_ready/en/sms';
    const before = (await (await call('GET', path)).json()) as { versions: unknown[] };
    const res = await call('PUT', path, { source: 'LaundryConnect: {% if order.order_number %} unclosed' });
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { code: string }).code, 'TEMPLATE_INVALID');
    const after = (await (await call('GET', path)).json()) as { versions: unknown[] };
    assert.equal(after.versions.length, before.versions.length);
  });

  test('templates that would stall every send are refused at save with the limit they hit', async () => {
    const path = '/api/v1/templates/order_ready/en/sms';
    const before = (await (await call('GET', path)).json()) as { versions: unknown[] };
    for (const source of [
      'LaundryConnect: {% for a in (1..3000) %}{% for b in (1..3000) %}x{% endfor %}{% endfor %}',
      'LaundryConnect: {% capture s %}x{% endcapture %}{% for i in (1..40) %}{% capture s %}{{s}}{{s}}{% endcapture %}{% endfor %}{{s}}',
    ]) {
      const res = await call('PUT', path, { source });
      assert.equal(res.status, 400, source);
      const body = (await res.json()) as { code: string; limit: string };
      assert.equal(body.code, 'TEMPLATE_LIMIT_EXCEEDED', source);
      assert.ok(['output_size', 'render_time', 'memory'].includes(body.limit), body.limit);
    }
    // Also a field that is only parsed today (email_html), with the capture doubling.
    const html = await call('PUT', '/api/v1/templates/order_ready/en/email_html', {
      source:
        '<p>{% capture s %}x{% endcapture %}{% for i in (1..40) %}{% capture s %}{{s}}{{s}}{% endcapture %}{% endfor %}{{s}}</p>',
    });
    assert.equal(html.status, 400);
    assert.equal(((await html.json()) as { limit: string }).limit, 'output_size');
    const after = (await (await call('GET', path)).json()) as { versions: unknown[] };
    assert.equal(after.versions.length, before.versions.length);
  });

  test('preview renders every field and counts SMS segments; ₹ forces UCS-2', async () => {
    const res = await call('POST', '/api/v1/templates/preview', { type: 'payment_completed', locale: 'en' });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      rendered: Record<string, string>;
      sms: { encoding: string; segments: number };
      lint: { warnings: Array<{ code: string; message: string }> };
    };
    assert.match(body.rendered['sms']!, /₹/);
    assert.equal(body.sms.encoding, 'UCS-2');
    assert.ok(body.lint.warnings.some((w) => w.code === 'UCS2_FORCED' && w.message.includes('₹')));
    const unsaved = await call('POST', '/api/v1/templates/preview', {
      type: 'payment_completed',
      locale: 'hi',
      field: 'sms',
      source: 'LaundryConnect: {{ payment.missing_thing }}',
    });
    const errors = ((await unsaved.json()) as { errors: Record<string, { code: string; detail: string }> })
      .errors;
    assert.equal(errors['sms']?.code, 'TEMPLATE_MISSING_VAR');
    assert.match(errors['sms']!.detail, /payment\.missing_thing/);
  });

  test('an edit that breaks the registered DLT text is refused unless the DLT text changes with it', async () => {
    const path = '/api/v1/templates/order_delivered/en/sms';
    const source = 'LaundryConnect: Order #{{ order.order_number }} delivered. Thank you!';
    const refused = await call('PUT', path, { source });
    assert.equal(refused.status, 422);
    assert.equal(((await refused.json()) as { code: string }).code, 'SMS_DLT_MISMATCH');
    const accepted = await call('PUT', path, {
      source,
      dlt_template_id: '1107170000000000099',
      dlt_text: 'LaundryConnect: Order #{#var#} delivered. Thank you!',
    });
    assert.equal(accepted.status, 200);
  });

  test('only admin keys may edit templates', async () => {
    const svc = await createApiKey(t.database.db, 'svc', 'service');
    const res = await call(
      'PUT',
      '/api/v1/templates/order_ready/en/sms',
      { source: 'LaundryConnect: hi' },
      svc,
    );
    assert.equal(res.status, 403);
  });
});
