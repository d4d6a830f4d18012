import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { inboundSms, notificationPreferences, preferenceChanges } from '../../src/db/schema.ts';
import { retryPolicies } from '../../src/deliveries/retry-policy.ts';
import { createLogger } from '../../src/logger.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import type { FaultConfig } from '../../src/sandbox/server.ts';
import { signed } from '../../src/sandbox/vonage/signature.ts';
import { insertUser, waitFor } from '../helpers/fixtures.ts';
import { notify, smsDelivery, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

/** Our Vonage number, as a sender the texts are addressed to. */
const OUR_NUMBER = '+919000000001';

describe(`two-way SMS through Vonage's inbound webhook (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const logLines: string[] = [];
  before(async () => {
    t = await createTestDatabase();
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().split('\n').filter(Boolean)));
    app = await startSmsApp(t, {}, createLogger('info', out));
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });
  const db = () => t.database.db;
  const sandbox = () => app.sms.sandbox!;
  const inboundUrl = () => app.url + app.config.VONAGE_INBOUND_PATH;
  const text = (from: string, body: string) =>
    sandbox().sendVonageInbound({ from, to: OUR_NUMBER, text: body, url: inboundUrl() });
  const smsPrefs = async (userId: number) =>
    (
      await db()
        .select()
        .from(notificationPreferences)
        .where(and(eq(notificationPreferences.userId, userId), eq(notificationPreferences.channel, 'sms')))
    )
      .filter((p) => p.enabled)
      .map((p) => p.category)
      .sort();
  /** What the phone received through Vonage (the replies this webhook sends). */
  const vonageTexts = (phone: string) =>
    sandbox()
      .messages()
      .filter((m) => m.provider === 'vonage' && m.direction === 'outbound-api' && m.to === phone)
      .map((m) => ({ from: m.from, body: m.body }));

  test('STOP turns SMS off (next SMS skipped), START turns it back on with the opt-in confirmation', async () => {
    const phone = '+919876544401';
    const user = await insertUser(db(), 'vn-stop', { phone });
    await db()
      .insert(notificationPreferences)
      .values(
        ['order_updates', 'payment_updates'].map((category) => ({
          userId: user.id,
          category,
          channel: 'sms',
          enabled: true,
        })),
      );
    await waitForSmsStatus(db(), await notify(app, 'vn-stop'), 'delivered');

    const stop = await text(phone, ' Stop ');
    assert.deepEqual([stop.status, stop.body], [200, '']);
    assert.deepEqual(await smsPrefs(user.id), []);
    const skipped = await smsDelivery(db(), await notify(app, 'vn-stop'));
    assert.deepEqual([skipped.status, skipped.skipReason], ['skipped', 'disabled_by_user']);

    const start = await text(phone, 'START');
    assert.deepEqual([start.status, start.body], [200, '']);
    assert.deepEqual(await smsPrefs(user.id), ['order_updates', 'payment_updates']);
    // The opt-in confirmation is a notification through the SMS channel, whichever provider that
    // routes it to: the one message START answers with, as on Twilio.
    await waitFor(
      async () =>
        sandbox()
          .messages()
          .some((m) => m.to === phone && /you're subscribed to order and payment alerts/.test(m.body)),
      30_000,
      'the opt-in confirmation at the sandbox',
    );
    await waitForSmsStatus(db(), await notify(app, 'vn-stop'), 'delivered');
    assert.deepEqual(vonageTexts(phone), [], 'no reply of its own to STOP or START');

    const changes = await db().select().from(preferenceChanges).where(eq(preferenceChanges.userId, user.id));
    assert.deepEqual(
      changes.map((c) => `${c.category}:${c.fromEnabled}->${c.toEnabled}:${c.source}`).sort(),
      [
        'order_updates:false->true:start_keyword',
        'order_updates:true->false:stop_keyword',
        'payment_updates:false->true:start_keyword',
        'payment_updates:true->false:stop_keyword',
      ],
    );
  });

  test('HELP is answered with the help text as a Vonage SMS, once even when Vonage repeats the webhook', async () => {
    const phone = '+919876544402';
    const res = await text(phone, 'help');
    assert.deepEqual([res.status, res.body], [200, '']);
    const help = await waitFor(async () => vonageTexts(phone)[0], 15_000, 'the help text at the sandbox');
    assert.equal(help.from, app.sms.vonage!.from);
    assert.equal(help.body, app.config.SMS_HELP_TEXT);

    // Vonage retries a webhook it got no 200 for: the same messageId, already handled.
    const inbound = sandbox()
      .messages()
      .find((m) => m.provider === 'vonage' && m.direction === 'inbound' && m.from === phone)!;
    const again = await fetch(inboundUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(inbound.params),
    });
    assert.equal(again.status, 200);
    const stored = await db().select().from(inboundSms).where(eq(inboundSms.fromPhone, phone));
    assert.deepEqual(
      stored.map((s) => [s.messageSid, s.keyword]),
      [[inbound.sid, 'HELP']],
    );
    assert.equal(vonageTexts(phone).length, 1, 'no second help text');
  });

  test('a YES to a message that asked for confirmation is confirmed by a Vonage SMS', async () => {
    const phone = '+919876544403';
    const user = await insertUser(db(), 'vn-yes', { phone });
    await db()
      .insert(notificationPreferences)
      .values({ userId: user.id, category: 'order_updates', channel: 'sms', enabled: true });
    const { notificationId } = await createNotification(
      {
        db: db(),
        templates: app.templates,
        retryPolicies: retryPolicies(app.config),
        availableChannels: new Set(['in_app', 'sms'] as const),
      },
      {
        userId: 'vn-yes',
        type: 'order_confirmed',
        context: { ...getNotificationType('order_confirmed')!.sampleContext, ask_confirmation: true },
      },
    );
    await waitForSmsStatus(db(), notificationId, 'delivered');
    assert.equal((await text(phone, 'yes')).status, 200);
    const reply = await waitFor(async () => vonageTexts(phone)[0], 15_000, 'the confirmation at the sandbox');
    assert.equal(reply.body, 'LaundryConnect: thanks, order LC240117 is confirmed.');
    assert.deepEqual(await smsPrefs(user.id), ['order_updates'], 'an answer is not an opt-in');
    const [row] = await db().select().from(inboundSms).where(eq(inboundSms.fromPhone, phone));
    assert.deepEqual([row!.confirmed, row!.orderNumber], [true, 'LC240117']);
  });

  test('a reply Vonage refuses is logged with the phone masked; the webhook is still answered 200', async () => {
    const phone = '+919876544404';
    const saved = sandbox().faults();
    const faults: FaultConfig = { byNumber: { [phone]: { provider: 'vonage', vonageStatus: 7 } } };
    sandbox().setFaults(faults);
    try {
      assert.equal((await text(phone, 'HELP')).status, 200);
    } finally {
      sandbox().setFaults(saved);
    }
    const line = await waitFor(
      async () => logLines.find((l) => l.includes('Vonage reply SMS not sent')),
      5_000,
      'the log line',
    );
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry['recipient'], '+91********04');
    assert.equal(entry['code'], 'VONAGE_7');
    assert.ok(!logLines.some((l) => l.includes(phone.slice(1))), 'the phone is never logged in full');
  });

  test('forged, unsigned or stale inbound webhooks get 403 and change nothing', async () => {
    const phone = '+919876544405';
    const user = await smsUser(db(), 'vn-forged', phone);
    const { apiKey, signatureSecret, signatureAlgorithm } = sandbox().vonage;
    const params = {
      msisdn: phone.slice(1),
      to: OUR_NUMBER.slice(1),
      messageId: '0B00000000000001',
      text: 'STOP',
      type: 'text',
      keyword: 'STOP',
      'api-key': apiKey,
      'message-timestamp': '2026-12-03 12:00:00',
    };
    const good = signed(params, signatureSecret, signatureAlgorithm, Date.now());
    const { sig: _sig, ...unsigned } = good;
    const post = (body: unknown) =>
      fetch(inboundUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const attempts = {
      'wrong secret': await post(signed(params, 'not-the-secret', signatureAlgorithm, Date.now())),
      tampered: await post({ ...good, msisdn: '919876544499' }),
      unsigned: await post(unsigned),
      stale: await post(signed(params, signatureSecret, signatureAlgorithm, Date.now() - 10 * 60_000)),
      'forged GET': await fetch(`${inboundUrl()}?${new URLSearchParams({ ...good, text: 'START' })}`),
    };
    for (const [what, res] of Object.entries(attempts)) {
      assert.equal(res.status, 403, what);
      assert.equal(((await res.json()) as { code: string }).code, 'SIGNATURE_INVALID', what);
    }
    assert.ok((await smsPrefs(user.id)).length > 0, 'still opted in');
    assert.deepEqual(await db().select().from(inboundSms).where(eq(inboundSms.fromPhone, phone)), []);

    // The same webhook, signed, as a GET's query: taken.
    const res = await fetch(`${inboundUrl()}?${new URLSearchParams(good)}`);
    assert.equal(res.status, 200);
    assert.deepEqual(await smsPrefs(user.id), []);
  });
});
