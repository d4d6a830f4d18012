import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { lintSmsTemplate } from '../../src/authoring/lint.ts';
import { saveTemplateEdit } from '../../src/authoring/template-edit.ts';
import { previewTemplate } from '../../src/authoring/template-preview.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { analyzeSms } from '../../src/channels/sms/segments.ts';
import { linkClicks, trackedLinks } from '../../src/db/schema.ts';
import { notificationTimeline } from '../../src/deliveries/delivery-timeline.ts';
import { retryPolicies } from '../../src/deliveries/retry-policy.ts';
import { AppError } from '../../src/errors.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { renderSmsPreview } from '../../src/templates/render-pool.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { smsDelivery, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const TYPE = 'order_out_for_delivery';
/** The order page, tracked; `order.tracking_url` (when the event sends one) tracked too. */
const TRACKED =
  'LaundryConnect: Order #{{ order.order_number }} is on its way: {{ "https://laundryconnect.com/orders/" | append: order.order_number | track }}';
const FROM_CONTEXT =
  'LaundryConnect: Track order #{{ order.order_number }}: {{ order.tracking_url | track }}';

describe(`tracked links (${ENGINE})`, () => {
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
  const db = () => t.database.db;
  const useTemplate = (source: string) =>
    saveTemplateEdit(
      db(),
      app.templates,
      { type: TYPE, locale: 'en', field: 'sms', source, dltTemplateId: null, dltText: null },
      { createdBy: 'test' },
    );
  const send = async (userId: string, order: Record<string, unknown> = {}) => {
    const sample = getNotificationType(TYPE)!.sampleContext as { order: Record<string, unknown> };
    const { notificationId } = await createNotification(
      {
        db: db(),
        templates: app.templates,
        retryPolicies: retryPolicies(app.config),
        availableChannels: new Set(['in_app', 'sms'] as const),
      },
      { userId, type: TYPE, context: { ...sample, order: { ...sample.order, ...order } } },
    );
    return notificationId;
  };
  const linksOf = (deliveryId: number) =>
    db().select().from(trackedLinks).where(eq(trackedLinks.deliveryId, deliveryId));
  const sentBody = (sid: string | null) => app.sms.sandbox!.messages().find((m) => m.sid === sid)!.body;
  const linkIn = (body: string) => {
    const url = body.match(/https?:\/\/\S+\/l\/[A-Za-z0-9_-]+/)?.[0];
    assert.ok(url, `a tracked link in ${body}`);
    return url;
  };

  test('a tracked link redirects (302) to its stored target; each GET is one click, a HEAD none; the timeline lists them', async () => {
    await useTemplate(TRACKED);
    await smsUser(db(), 'link-click', '+919876501001');
    const id = await send('link-click');
    const d = await waitForSmsStatus(db(), id, 'delivered');
    const body = sentBody(d.providerMessageId);
    const url = linkIn(body);
    assert.ok(url.startsWith(`${app.url}/l/`), url);
    // The figure the docs give: one GSM-7 segment with the order page tracked.
    const analysis = analyzeSms(body);
    assert.equal(analysis.segments, 1, `${analysis.characters} characters: ${body}`);
    const [link] = await linksOf(d.id);
    assert.equal(link!.target, 'https://laundryconnect.com/orders/LC240117');
    assert.ok(url.endsWith(`/l/${link!.id}`));

    const head = await fetch(url, { method: 'HEAD', redirect: 'manual' });
    assert.equal(head.status, 302);
    assert.equal((await db().select().from(linkClicks)).length, 0, 'a HEAD is not a click');
    // The request's own query and path never reach the Location: only the stored target does.
    for (const u of [url, `${url}?to=https://evil.example/`]) {
      const res = await fetch(u, {
        redirect: 'manual',
        headers: { 'user-agent': 'Mozilla/5.0 (Linux; Android 14)' },
      });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), link!.target);
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
    const bot = await fetch(url, { redirect: 'manual', headers: { 'user-agent': 'WhatsApp/2.23.20.0' } });
    assert.equal(bot.status, 302);
    const timeline = await notificationTimeline(db(), id);
    const sms = timeline!.deliveries.find((x) => x.channel === 'sms')!;
    assert.deepEqual(
      sms.clicks.map((c) => [c.target, c.client]),
      [
        [link!.target, 'browser'],
        [link!.target, 'browser'],
        [link!.target, 'bot'],
      ],
    );
  });

  test('an unknown or malformed link id answers a 404 page, never a redirect', async () => {
    for (const path of ['/l/AAAAAAAAAAAA', '/l/not-a-link', '/l/%2F%2Fevil.example']) {
      const res = await fetch(`${app.url}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 404, path);
      assert.equal(res.headers.get('location'), null);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await res.text(), /This link does not work/);
    }
  });

  test('a retried send reuses its link row and sends the same link', async () => {
    await useTemplate(TRACKED);
    app.sms.sandbox!.setFaults({ byNumber: { '+919876501002': { rate5xx: 1 } } });
    await smsUser(db(), 'link-retry', '+919876501002');
    const id = await send('link-retry');
    try {
      // Refused once at least (its link stored before that request), then let through.
      await waitFor(
        async () => {
          const d = await smsDelivery(db(), id);
          return d.attempts >= 1 && d.errorCode !== null;
        },
        10_000,
        'a refused attempt',
      );
    } finally {
      app.sms.sandbox!.setFaults({});
    }
    const d = await waitForSmsStatus(db(), id, 'delivered');
    assert.ok(d.attempts >= 2, `attempts ${d.attempts}`);
    const links = await linksOf(d.id);
    assert.equal(links.length, 1, 'one row per delivery × target, whatever the attempts');
    assert.ok(linkIn(sentBody(d.providerMessageId)).endsWith(`/l/${links[0]!.id}`));
  });

  test('a target outside the allowed hosts fails the send with TEMPLATE_LINK_NOT_ALLOWED and stores no link', async () => {
    await useTemplate(FROM_CONTEXT);
    await smsUser(db(), 'link-evil', '+919876501003');
    for (const tracking_url of ['https://evil.example/track/1', 'javascript:alert(1)']) {
      const id = await send('link-evil', { tracking_url });
      const d = await waitForSmsStatus(db(), id, 'failed');
      assert.equal(d.errorCode, 'TEMPLATE_LINK_NOT_ALLOWED');
      assert.match(d.errorMessage ?? '', /Tracked link refused/);
      assert.equal((await linksOf(d.id)).length, 0);
    }
    // An allowed one from the event's data goes out tracked.
    const ok = await send('link-evil', { tracking_url: 'https://laundryconnect.com/track/LC-1' });
    const d = await waitForSmsStatus(db(), ok, 'delivered');
    assert.equal((await linksOf(d.id))[0]?.target, 'https://laundryconnect.com/track/LC-1');
  });

  test('the lint names a refused link and a save refuses it; a preview shows the link form and stores nothing', async () => {
    const source = 'LaundryConnect: see {{ "https://evil.example/x" | track }}';
    const report = await lintSmsTemplate({ source, sampleContext: {} }, renderSmsPreview);
    assert.deepEqual(
      report.warnings.map((w) => w.code),
      ['LINK_NOT_ALLOWED'],
    );
    assert.match(report.warnings[0]!.message, /evil\.example is not an allowed link host/);
    await assert.rejects(
      useTemplate(source),
      (err: unknown) => err instanceof AppError && err.code === 'TEMPLATE_LINK_NOT_ALLOWED',
    );
    const before = (await db().select().from(trackedLinks)).length;
    const preview = await previewTemplate(app.templates, {
      type: TYPE,
      locale: 'en',
      field: 'sms',
      source: TRACKED,
    });
    assert.match(preview.rendered.sms ?? '', /\/l\/[A-Za-z0-9_-]{12}$/);
    assert.equal(preview.sms?.segments, 1);
    // A tracked link outside an SMS is refused where the field renders (tracked links are SMS only).
    const email = await previewTemplate(app.templates, {
      type: TYPE,
      locale: 'en',
      field: 'email_text',
      source: 'See {{ "https://laundryconnect.com/" | track }}',
    });
    assert.equal(email.errors.email_text?.code, 'TEMPLATE_LINK_NOT_ALLOWED');
    assert.equal((await db().select().from(trackedLinks)).length, before, 'previews write no rows');
  });
});
