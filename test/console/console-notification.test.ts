import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { createApiKey, findApiKey } from '../../src/auth/api-keys.ts';
import { listAudit } from '../../src/console/audit-log.ts';
import { notificationTimeline } from '../../src/deliveries/delivery-timeline.ts';
import { escapeHtml } from '../../src/http/html.ts';
import {
  ADMIN_KEY,
  notify,
  smsDelivery,
  smsUser,
  startSmsApp,
  waitForSmsStatus,
} from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { ConsoleClient } from './console-client.ts';

const PHONE = '+919876500042';

/**
 * A notification's console page against the real worker and the Twilio sandbox: an SMS the
 * sandbox refuses fails; its page shows the timeline with the error's meaning; an admin resends it
 * (audited) and the worker sends it again, to `delivered`; a second resend and a viewer are refused.
 */
describe(`console notification page and resend (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, { OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('failed → resent by an admin (audited) → sent again → delivered; a second resend and a viewer are refused', async () => {
    const db = t.database.db;
    await smsUser(db, 'np-user', PHONE);
    // 21211: Twilio refuses the number at create, a permanent error: failed after one attempt.
    app.sms.sandbox!.setFaults({ byNumber: { [PHONE]: { createError: 21211 } } });
    const id = await notify(app, 'np-user');
    const failed = await waitForSmsStatus(db, id, 'failed', 30_000);
    app.sms.sandbox!.setFaults({});

    const admin = new ConsoleClient(app.url!);
    assert.equal((await admin.signIn(ADMIN_KEY)).status, 303);
    const path = `/console/notifications/${id}`;
    const page = await admin.request('GET', path);
    assert.equal(page.status, 200);
    assert.match(
      page.text,
      /<h2 id="h-delivery-\d+">SMS <span class="badge status-failed">failed<\/span><\/h2>/,
    );
    assert.match(page.text, /<code>21211<\/code> — /, 'the error code with its meaning');
    assert.match(page.text, /sending → <strong>failed<\/strong>/);
    assert.match(page.text, /Resend this SMS delivery/);
    // What the refused attempt would have sent is kept and shown; the number only masked.
    const refusedBody = (failed.details as { content?: { body?: string } } | null)?.content?.body;
    assert.ok(refusedBody?.includes('LaundryConnect'), JSON.stringify(failed.details));
    assert.ok(page.text.includes(`<dt>Text</dt><dd>${escapeHtml(refusedBody!)}</dd>`), 'the SMS text');
    assert.ok(!page.text.includes(PHONE), 'the number is masked on the page, in error texts too');
    assert.equal((await admin.request('GET', '/console/notifications/no-such-id')).status, 404);

    const viewer = new ConsoleClient(app.url!);
    assert.equal((await viewer.signIn(await createApiKey(db, 'np viewer', 'viewer'))).status, 303);
    const viewerPage = await viewer.request('GET', path);
    assert.doesNotMatch(viewerPage.text, /Resend this/);
    assert.match(viewerPage.text, /An admin can resend this failed delivery/);
    const resendPath = `${path}/deliveries/${failed.id}/resend`;
    const refused = await viewer.request('POST', resendPath, { _csrf: await viewer.csrfFrom(path) });
    assert.equal(refused.status, 403);
    assert.equal((await smsDelivery(db, id)).status, 'failed');
    assert.equal((await admin.request('POST', resendPath, { _csrf: 'forged' })).status, 403);

    const resent = await admin.request('POST', resendPath, { _csrf: await admin.csrfFrom(path) });
    assert.equal(resent.status, 303);
    assert.equal(resent.headers.get('location'), `${path}?resent=${failed.id}`);
    const delivered = await waitForSmsStatus(db, id, 'delivered', 30_000);
    assert.ok(delivered.providerMessageId?.startsWith('SM'));

    const key = (await findApiKey(db, ADMIN_KEY))!;
    const { entries } = await listAudit(db, {
      targetType: 'delivery',
      targetId: String(failed.id),
      limit: 5,
    });
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.action, 'delivery.resent');
    assert.equal(entries[0]!.actor, key.name);
    assert.deepEqual(entries[0]!.before, {
      status: 'failed',
      attempts: failed.attempts,
      error_code: '21211',
    });

    const tl = (await notificationTimeline(db, id))!;
    // The provider's progress reports (sent → sent) left out: the transitions after the resend.
    const steps = tl.deliveries
      .find((d) => d.channel === 'sms')!
      .steps.filter((s) => s.from !== s.to)
      .map((s) => `${s.from}→${s.to}`);
    const resendAt = steps.indexOf('failed→queued');
    assert.ok(resendAt > 0, steps.join(', '));
    assert.deepEqual(steps.slice(resendAt), [
      'failed→queued',
      'queued→sending',
      'sending→sent',
      'sent→delivered',
    ]);

    const after = await admin.request('GET', `${path}?resent=${failed.id}`);
    assert.match(after.text, /resent: it is queued, due now/);
    assert.match(after.text, /failed → <strong>queued<\/strong>/);
    assert.match(after.text, new RegExp(`<code>${delivered.providerMessageId}</code>`));
    assert.doesNotMatch(after.text, /Resend this/);
    const sent = app.sms.sandbox!.messages().find((m) => m.sid === delivered.providerMessageId)!;
    assert.equal(
      (delivered.details as { content?: { body?: string } }).content?.body,
      sent.body,
      'the stored text is what the provider received',
    );

    const again = await admin.request('POST', resendPath, { _csrf: await admin.csrfFrom(path) });
    assert.equal(again.status, 409);
    assert.match(again.text, /Not resent: the SMS delivery is not failed \(any more\)/);
    assert.equal(
      (await listAudit(db, { targetType: 'delivery', targetId: String(failed.id), limit: 5 })).entries.length,
      1,
      'a refused resend records nothing',
    );
  });
});
