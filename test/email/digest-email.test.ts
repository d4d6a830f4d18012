import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SettingsLinks } from '../../src/auth/settings-link.ts';
import { EmailChannel } from '../../src/channels/email/email-channel.ts';
import { startMailCapture } from '../../src/channels/email/mail-capture.ts';
import { createEmailTransport } from '../../src/channels/email/transport.ts';
import { DigestEmailChannel } from '../../src/digest/digest-channel.ts';
import { digestContext } from '../../src/digest/digest-email.ts';
import { LinkTokens } from '../../src/me/link-tokens.ts';
import { buildTemplateContext } from '../../src/templates/render.ts';
import { renderTemplate } from '../../src/templates/render-pool.ts';
import { FRAME_FIELDS, LOCALES } from '../../src/templates/template-files.ts';
import { TemplateStore } from '../../src/templates/template-store.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';
import {
  configuredSettings,
  insertDigestDelivery,
  orderConfirmedJob,
  recordingLogger,
  smtpReply,
  startSmtpServer,
} from './helpers.ts';

test(`a digest that bounces records the SMTP reply in metadata.email, like a single email (${ENGINE})`, async () => {
  const t = await createTestDatabase();
  const server = await startSmtpServer({ onRcptTo: (_a, _s, done) => done(smtpReply(550, 'No such user')) });
  const transport = createEmailTransport(server.url);
  try {
    const user = await insertUser(t.database.db, 'digest-bounce', { email: 'gone@example.com' });
    const items = [1, 2].map((i) => ({
      notification_id: `ntf_${i}`,
      type: 'promo_offer',
      title: `Offer ${i}`,
      message: `Offer ${i} text`,
      created_at: new Date().toISOString(),
    }));
    const delivery = await insertDigestDelivery(t.database.db, user.id, 'ntf_digest', items);
    const { logger } = recordingLogger();
    const email = new EmailChannel({
      transport,
      from: 'no-reply@laundryconnect.com',
      templates: new TemplateStore(),
      logger,
    });
    const digest = new DigestEmailChannel({
      inner: email,
      db: t.database.db,
      settings: configuredSettings('https://example.test/prefs'),
    });

    const job = orderConfirmedJob({ email: 'gone@example.com' });
    const result = await digest.send(
      { ...job, deliveryId: delivery, notificationType: 'promo_offer' },
      new AbortController().signal,
    );

    assert.equal(result.kind, 'permanent');
    assert.deepEqual(result.metadata, {
      email: { sent: false, bounced: true, smtp_code: 550, response: '550 No such user', digest: 2 },
    });
  } finally {
    transport.close();
    await server.close();
    await t.close();
  }
});

test(`a Hindi user's digest is the Hindi digest frame, with the configured settings link (${ENGINE})`, async () => {
  const t = await createTestDatabase();
  const capture = await startMailCapture();
  const transport = createEmailTransport(capture.url);
  try {
    const user = await insertUser(t.database.db, 'digest-hindi', { email: 'asha@example.com' });
    const items = [1, 2].map((i) => ({
      notification_id: `ntf_hi_${i}`,
      type: 'promo_offer',
      title: `ऑफ़र ${i}`,
      message: `ऑफ़र ${i} <का> विवरण`,
      created_at: new Date().toISOString(),
    }));
    const delivery = await insertDigestDelivery(t.database.db, user.id, 'ntf_digest_hi', items);
    const email = new EmailChannel({
      transport,
      from: 'no-reply@laundryconnect.com',
      templates: new TemplateStore(),
      logger: recordingLogger().logger,
    });
    const digest = new DigestEmailChannel({
      inner: email,
      db: t.database.db,
      settings: configuredSettings('https://prefs.example.test/notifications'),
    });

    const job = orderConfirmedJob({ email: 'asha@example.com', firstName: 'आशा', locale: 'hi-IN' });
    const result = await digest.send(
      { ...job, deliveryId: delivery, notificationType: 'promo_offer' },
      new AbortController().signal,
    );

    assert.equal(result.kind, 'sent');
    const [mail] = capture.messages();
    assert.ok(mail);
    assert.equal(mail.subject, 'LaundryConnect से आपकी अपडेट (2)');
    assert.match(mail.text ?? '', /^नमस्ते आशा,/);
    assert.match(mail.text ?? '', /- ऑफ़र 1\r?\n {2}ऑफ़र 1 <का> विवरण/);
    assert.match(mail.text ?? '', /https:\/\/prefs\.example\.test\/notifications/);
    assert.doesNotMatch(mail.text ?? '', /laundryconnect\.com\/settings/);
    assert.match(mail.html ?? '', /<p>नमस्ते आशा,<\/p>/);
    // Item text is escaped in the HTML part; the link is the configured one.
    assert.match(mail.html ?? '', /ऑफ़र 2 &lt;का&gt; विवरण/);
    assert.match(mail.html ?? '', /href="https:\/\/prefs\.example\.test\/notifications"/);
  } finally {
    transport.close();
    await capture.close();
    await t.close();
  }
});

test('the digest frame renders in every locale, strict Liquid, one item and many', async () => {
  const templates = new TemplateStore();
  const user = { firstName: null, lastName: null, email: 'a@example.com', locale: 'en' };
  const item = { notification_id: 'n', type: 'promo_offer', title: 'T', message: 'M', created_at: '' };
  for (const locale of LOCALES) {
    for (const items of [[item], [item, item, item]]) {
      const context = buildTemplateContext({ ...user, locale }, digestContext(items, 'https://x.test/s'));
      for (const field of FRAME_FIELDS) {
        const source = templates.get('digest', field, locale);
        assert.equal(source?.locale, locale, `${locale} ${field}`);
        const out = await renderTemplate(source.source, context, { escapeHtml: field === 'email_html' });
        assert.ok(field === 'email_subject' || out.includes('https://x.test/s'), `${locale} ${field}`);
        assert.ok(items.length === 1 || out.includes('3'), `${locale} ${field} names the count`);
        assert.doesNotMatch(out, /null|href=""/, `${locale} ${field}: an item without a link has none`);
      }
    }
  }
});

test("each digest item links to its page, in every locale's text and HTML", async () => {
  const templates = new TemplateStore();
  const user = { firstName: 'Asha', lastName: null, email: 'a@example.com', locale: 'en' };
  const review = 'https://laundryconnect.com/orders/LC240117/review';
  const items = [
    {
      notification_id: 'n1',
      type: 'review_request',
      title: 'Rate',
      message: 'M1',
      link: review,
      created_at: '',
    },
    {
      notification_id: 'n2',
      type: 'promo_offer',
      title: 'Offer',
      message: 'M2',
      link: 'https://laundryconnect.com',
      created_at: '',
    },
  ];
  for (const locale of LOCALES) {
    const context = buildTemplateContext({ ...user, locale }, digestContext(items, 'https://x.test/s'));
    const text = await renderTemplate(templates.get('digest', 'email_text', locale)!.source, context);
    const html = await renderTemplate(templates.get('digest', 'email_html', locale)!.source, context, {
      escapeHtml: true,
    });
    assert.match(text, new RegExp(`- Rate\\n  M1\\n  ${review}\\n`), `${locale} text`);
    assert.match(text, /- Offer\n {2}M2\n {2}https:\/\/laundryconnect\.com\n/, `${locale} text`);
    assert.ok(html.includes(`<a href="${review}" style="color:#0f766e">Rate</a>`), `${locale} html`);
    assert.ok(
      html.includes('<a href="https://laundryconnect.com" style="color:#0f766e">Offer</a>'),
      `${locale} html`,
    );
  }
});

test(`with no NOTIFICATION_SETTINGS_URL, a digest's footer is a signed link to the user's own preference centre that outlives the read (${ENGINE})`, async () => {
  const t = await createTestDatabase();
  const capture = await startMailCapture();
  const transport = createEmailTransport(capture.url);
  try {
    const user = await insertUser(t.database.db, 'digest-me-link', { email: 'me-link@example.com' });
    const items = [1, 2].map((i) => ({
      notification_id: `ntf_me_${i}`,
      type: 'promo_offer',
      title: `Offer ${i}`,
      message: `Offer ${i}`,
      created_at: new Date().toISOString(),
    }));
    const delivery = await insertDigestDelivery(t.database.db, user.id, 'ntf_digest_me', items);
    let now = Date.parse('2026-12-02T08:00:00Z');
    const links = new LinkTokens('digest-test-secret', () => now);
    const digest = new DigestEmailChannel({
      inner: new EmailChannel({
        transport,
        from: 'no-reply@laundryconnect.com',
        templates: new TemplateStore(),
        logger: recordingLogger().logger,
      }),
      db: t.database.db,
      settings: new SettingsLinks({
        configured: undefined,
        signedLink: async (userId) =>
          (await links.url('https://notify.example.test/', userId, 'preferences', 72 * 3600)).url,
      }),
    });
    const job = orderConfirmedJob({ email: 'me-link@example.com' });
    const result = await digest.send(
      { ...job, deliveryId: delivery, notificationType: 'promo_offer' },
      new AbortController().signal,
    );
    assert.equal(result.kind, 'sent');
    const [mail] = capture.messages();
    const link = /https:\/\/notify\.example\.test\/me\/open\?token=([\w.-]+)/.exec(mail?.text ?? '');
    assert.ok(link, mail?.text ?? undefined);
    assert.match(mail?.html ?? '', /href="https:\/\/notify\.example\.test\/me\/open\?token=/);
    // Read three days less a minute later, it still opens that user's preference centre; then not.
    now += 72 * 3600 * 1000 - 60_000;
    assert.deepEqual(await links.verify(link[1]!), { userId: job.user.externalId, page: 'preferences' });
    now += 120_000;
    await assert.rejects(links.verify(link[1]!), /This link has expired/);
  } finally {
    transport.close();
    await capture.close();
    await t.close();
  }
});
