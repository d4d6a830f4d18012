import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { UNSUBSCRIBE_TOKEN_TTL_SECONDS, UnsubscribeTokens } from '../../src/auth/unsubscribe-tokens.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { EmailChannel } from '../../src/channels/email/email-channel.ts';
import { createEmailTransport } from '../../src/channels/email/transport.ts';
import { deliveries, notifications, preferenceChanges } from '../../src/db/schema.ts';
import { DigestEmailChannel } from '../../src/digest/digest-channel.ts';
import { TemplateStore } from '../../src/templates/template-store.ts';
import { insertUser, waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import {
  configuredSettings,
  insertDigestDelivery,
  orderConfirmedJob,
  recordingLogger,
  startSmtpServer,
} from './helpers.ts';

interface Received {
  to: string[];
  headers: Map<string, string>;
}

/** The header block as the SMTP server got it, unfolded (RFC 5322 2.2.3), names lower-cased. */
function headersOf(raw: string): Map<string, string> {
  const block = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  return new Map(
    block.split('\r\n').map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
    }),
  );
}

/** A real SMTP server keeping every message it is given. */
async function recordingSmtp() {
  const received: Received[] = [];
  const server = await startSmtpServer({
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          headers: headersOf(Buffer.concat(chunks).toString('latin1')),
        });
        callback(null);
      });
    },
  });
  return { ...server, received };
}

/** The URL inside `List-Unsubscribe: <…>`, which must be our one https/http link and nothing else. */
function unsubscribeUrl(headers: Map<string, string>): string {
  const value = headers.get('list-unsubscribe');
  assert.ok(value, 'List-Unsubscribe present');
  const match = /^<(https?:\/\/[^>]+)>$/.exec(value);
  assert.ok(match, value);
  return match[1]!;
}

describe(`one-click unsubscribe, RFC 8058 (${ENGINE})`, () => {
  let t: TestDatabase;
  let smtp: Awaited<ReturnType<typeof recordingSmtp>>;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    smtp = await recordingSmtp();
    app = await startSmsApp(t, { SMTP_URL: smtp.url });
  });
  after(async () => {
    await app.close();
    await smtp.close();
    await t.close();
  });

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${app.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...init.headers },
    });
  const notify = async (userId: string, type: string) => {
    const res = await api('/api/v1/notifications', {
      method: 'POST',
      body: JSON.stringify({ user_id: userId, type, context: getNotificationType(type)!.sampleContext }),
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as { notification_id: string }).notification_id;
  };
  const emailTo = (address: string, count: number) =>
    waitFor(
      async () => {
        const mine = smtp.received.filter((m) => m.to.includes(address));
        return mine.length >= count ? mine[count - 1] : undefined;
      },
      15_000,
      `email ${count} to ${address}`,
    );
  const preference = async (userId: string, field: string) => {
    const res = await api(`/api/notifications/preferences/?user_id=${userId}`);
    return ((await res.json()) as Record<string, unknown>)[field];
  };
  const changes = (userId: number) =>
    t.database.db.select().from(preferenceChanges).where(eq(preferenceChanges.userId, userId));

  test('a regular email carries List-Unsubscribe and List-Unsubscribe-Post; a POST turns that category off and the next one is skipped', async () => {
    const user = await insertUser(t.database.db, 'unsub-1', { email: 'unsub-1@example.com' });
    await notify('unsub-1', 'order_created');
    const first = await emailTo('unsub-1@example.com', 1);
    const url = unsubscribeUrl(first.headers);
    assert.ok(url.startsWith(`${app.url}/unsubscribe/`), url);
    assert.equal(first.headers.get('list-unsubscribe-post'), 'List-Unsubscribe=One-Click');

    // A mail scanner's GET shows the page with the button, and changes nothing.
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await page.text(), /<form method="post">[\s\S]*<button/);
    assert.equal(await preference('unsub-1', 'order_updates_email'), true);
    assert.equal((await changes(user.id)).length, 0);

    // The mail client's one-click POST: no auth, no cookies, the RFC's form body.
    const post = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    assert.equal(post.status, 200);
    // With no NOTIFICATION_SETTINGS_URL, the page links to the user's own preference centre here.
    const settings = /<a href="([^"]+)">Notification settings<\/a>/.exec(await post.text())?.[1];
    assert.ok(settings?.startsWith(`${app.url}/me/open?token=`), settings);
    const opened = await fetch(settings!.replaceAll('&amp;', '&'), { redirect: 'manual' });
    assert.equal(opened.status, 303);
    assert.equal(opened.headers.get('location'), '/me/preferences');
    assert.match(opened.headers.get('set-cookie') ?? '', /HttpOnly/i);
    assert.equal(await preference('unsub-1', 'order_updates_email'), false);
    assert.equal(await preference('unsub-1', 'promotions_email'), true, 'only that category');
    const recorded = await changes(user.id);
    assert.deepEqual(
      recorded.map((c) => [c.category, c.channel, c.toEnabled, c.source]),
      [['order_updates', 'email', false, 'list_unsubscribe']],
    );

    // RFC 8058's own example posts multipart/form-data; a repeat changes nothing more.
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    assert.equal((await fetch(url, { method: 'POST', body: form })).status, 200);
    assert.equal((await changes(user.id)).length, 1);

    const next = await notify('unsub-1', 'order_created');
    const [email] = await t.database.db
      .select({ status: deliveries.status, reason: deliveries.skipReason })
      .from(deliveries)
      .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
      .where(and(eq(notifications.notificationId, next), eq(deliveries.channel, 'email')));
    assert.deepEqual(email, { status: 'skipped', reason: 'disabled_by_user' });
  });

  test('a critical email carries no List-Unsubscribe', async () => {
    await insertUser(t.database.db, 'unsub-2', { email: 'unsub-2@example.com' });
    await notify('unsub-2', 'order_confirmed');
    const email = await emailTo('unsub-2@example.com', 1);
    assert.equal(email.headers.get('list-unsubscribe'), undefined);
    assert.equal(email.headers.get('list-unsubscribe-post'), undefined);
  });

  test('a forged or tampered link is refused and changes nothing', async () => {
    const user = await insertUser(t.database.db, 'unsub-3', { email: 'unsub-3@example.com' });
    await notify('unsub-3', 'welcome');
    const url = unsubscribeUrl((await emailTo('unsub-3@example.com', 1)).headers);
    const token = url.slice(url.lastIndexOf('/') + 1);
    const [user36, codes, expires, mac] = token.split('.') as [string, string, string, string];
    assert.equal(codes, 'a', 'welcome is an account email');
    // Signed with a key of the attacker's own.
    const foreign = new UnsubscribeTokens('x'.repeat(32)).link(app.url!, {
      userId: user.id,
      categories: ['account'],
    });
    const base = `${app.url}/unsubscribe/`;
    for (const forged of [
      `${base}${user36}.m.${expires}.${mac}`,
      `${base}${user36}.${codes}.${expires}zz.${mac}`,
      `${base}${user36}.${codes}.${expires}.${mac.slice(0, -2)}AA`,
      `${base}${user36}.${codes}.${expires}.`,
      foreign,
      `${base}not-a-token`,
    ]) {
      for (const method of ['GET', 'POST']) {
        const res = await fetch(forged, { method });
        assert.equal(res.status, 400, `${method} ${forged}`);
        assert.equal(((await res.json()) as { code: string }).code, 'UNSUBSCRIBE_LINK_INVALID');
        // A person who clicked it gets a page that says so, and where the settings are.
        const page = await fetch(forged, { method, headers: { accept: 'text/html,*/*;q=0.8' } });
        assert.equal(page.status, 400, `${method} ${forged} (browser)`);
        assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
        const html = await page.text();
        assert.match(html, /This link does not work/);
        // The token names nobody, so no signed settings link; NOTIFICATION_SETTINGS_URL is unset here.
        assert.match(html, /notification settings, from the link at the end of any of our emails/);
      }
    }
    assert.equal(await preference('unsub-3', 'account_email'), true);
    assert.equal((await changes(user.id)).length, 0);
  });
});

test(`a digest carries one-click unsubscribe for its items' category (${ENGINE})`, async () => {
  const t = await createTestDatabase();
  const smtp = await recordingSmtp();
  const transport = createEmailTransport(smtp.url);
  try {
    const user = await insertUser(t.database.db, 'unsub-digest', { email: 'digest@example.com' });
    const items = ['promo_offer', 'review_request'].map((type, i) => ({
      notification_id: `ntf_d${i}`,
      type,
      title: `Item ${i}`,
      message: `Item ${i} text`,
      created_at: new Date().toISOString(),
    }));
    const delivery = await insertDigestDelivery(t.database.db, user.id, 'ntf_unsub_digest', items);
    const tokens = await UnsubscribeTokens.create(t.database.db);
    const digest = new DigestEmailChannel({
      inner: new EmailChannel({
        transport,
        from: 'no-reply@laundryconnect.com',
        templates: new TemplateStore(),
        logger: recordingLogger().logger,
        unsubscribe: { tokens, baseUrl: () => 'https://notify.example.test' },
      }),
      db: t.database.db,
      settings: configuredSettings('https://example.test/prefs'),
    });
    const job = orderConfirmedJob({ id: String(user.id), email: 'digest@example.com' });
    const result = await digest.send(
      { ...job, deliveryId: delivery, notificationType: 'promo_offer' },
      new AbortController().signal,
    );
    assert.equal(result.kind, 'sent');
    const [received] = smtp.received;
    const url = unsubscribeUrl(received!.headers);
    assert.ok(url.startsWith('https://notify.example.test/unsubscribe/'), url);
    assert.deepEqual(tokens.verify(url.slice(url.lastIndexOf('/') + 1)), {
      userId: user.id,
      categories: ['promotions'],
    });
    assert.equal(received!.headers.get('list-unsubscribe-post'), 'List-Unsubscribe=One-Click');
  } finally {
    transport.close();
    await smtp.close();
    await t.close();
  }
});

test('an unsubscribe link expires after UNSUBSCRIBE_TOKEN_TTL_SECONDS', () => {
  let now = Date.UTC(2026, 0, 1);
  const tokens = new UnsubscribeTokens('k'.repeat(32), () => now);
  const url = tokens.link('https://n.example/', { userId: 42, categories: ['promotions', 'account'] });
  assert.match(url, /^https:\/\/n\.example\/unsubscribe\/[\w.-]{1,100}$/);
  const token = url.slice(url.lastIndexOf('/') + 1);
  now += (UNSUBSCRIBE_TOKEN_TTL_SECONDS - 1) * 1000;
  assert.deepEqual(tokens.verify(token), { userId: 42, categories: ['account', 'promotions'] });
  now += 1000;
  assert.throws(() => tokens.verify(token), /has expired/);
});
