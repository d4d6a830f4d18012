import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { analyzeSms } from '../../src/channels/sms/segments.ts';
import { notifications } from '../../src/db/schema.ts';
import { SMS_INBOUND_PATH } from '../../src/inbound/sms-inbound.ts';
import { renderTemplate } from '../../src/templates/render-pool.ts';
import { LOCALES, loadTemplateFiles } from '../../src/templates/template-files.ts';
import { insertUser, waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const TYPE = 'sms_opt_in_confirmed';

test('the opt-in confirmation names the brand, HELP and STOP, and fits one SMS segment in every locale', async () => {
  for (const locale of LOCALES) {
    const set = loadTemplateFiles().find((s) => s.type === TYPE && s.locale === locale)!;
    const sms = await renderTemplate(set.fields.sms, { first_name: 'Priya' });
    assert.match(sms, /^LaundryConnect: /, locale);
    assert.match(sms, /HELP/, locale);
    assert.match(sms, /STOP/, locale);
    assert.equal(analyzeSms(sms).segments, 1, `${locale}: ${sms}`);
  }
});

describe(`SMS opt-in confirmation (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t);
  });
  after(async () => {
    try {
      await app?.close();
    } finally {
      await t?.close();
    }
  });
  const db = () => t.database.db;
  const patch = async (userId: string, body: Record<string, unknown>) => {
    const res = await fetch(`${app.url}/api/notifications/preferences/?user_id=${userId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const text = (from: string, body: string) =>
    app.sms.sandbox!.sendInbound({ from, to: app.sms.from!, body, url: app.url + SMS_INBOUND_PATH });
  /** Confirmations created for the user: committed with the change, so counted as soon as it returns. */
  const confirmations = async (userId: number) =>
    (
      await db()
        .select({ id: notifications.id })
        .from(notifications)
        .where(and(eq(notifications.userId, userId), eq(notifications.type, TYPE)))
    ).length;
  const arrived = (phone: string) =>
    app.sms.sandbox!.messages().filter((m) => m.to === phone && /Reply HELP for help, STOP/.test(m.body));
  const waitForArrivals = (phone: string, n: number) =>
    waitFor(async () => arrived(phone).length >= n, 30_000, `${n} confirmation(s) at the sandbox`);

  test('turning SMS on sends one confirmation; turning it on again while on sends none; off then on sends another', async () => {
    const phone = '+919876522221';
    const user = await insertUser(db(), 'optin-api', { phone });
    // Quiet hours all day: the confirmation answers the user's own action, so it is not held.
    await patch('optin-api', { quiet_hours_start: '00:00', quiet_hours_end: '23:59' });
    assert.equal(await confirmations(user.id), 0, 'no SMS on yet, no confirmation');

    await patch('optin-api', { order_updates_sms: true });
    await waitForArrivals(phone, 1);
    const [first] = arrived(phone);
    assert.equal(
      first!.body,
      "LaundryConnect: you're subscribed to order and payment alerts by SMS. Msg&data rates may apply. Reply HELP for help, STOP to opt out.",
    );
    assert.equal(first!.numSegments, 1);

    // Still on (another category, and the same flag again): not an opt-in.
    await patch('optin-api', { payment_updates_sms: true });
    await patch('optin-api', { order_updates_sms: true });
    assert.equal(await confirmations(user.id), 1);

    // Off in one category but on in another is still on: nothing.
    await patch('optin-api', { payment_updates_sms: false });
    await patch('optin-api', { payment_updates_sms: true });
    assert.equal(await confirmations(user.id), 1);

    await patch('optin-api', { order_updates_sms: false, payment_updates_sms: false });
    await patch('optin-api', { account_sms: true });
    assert.equal(await confirmations(user.id), 2);
    await waitForArrivals(phone, 2);
    assert.equal(arrived(phone).length, 2);
  });

  test('START after STOP sends the one confirmation (no TwiML reply besides); START while on sends none', async () => {
    const phone = '+919876522222';
    const user = await insertUser(db(), 'optin-start', { phone, locale: 'hi' });
    await patch('optin-start', { order_updates_sms: true });
    await waitFor(
      async () => app.sms.sandbox!.messages().filter((m) => m.to === phone).length === 1,
      30_000,
      'the first confirmation',
    );
    assert.equal(await text(phone, 'STOP').then((r) => r.status), 200);

    const start = await text(phone, 'START');
    assert.equal(start.body, '<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    assert.equal(await confirmations(user.id), 2);
    await waitFor(
      async () => app.sms.sandbox!.messages().filter((m) => m.to === phone).length === 2,
      30_000,
      'the confirmation after START',
    );
    const last = app.sms.sandbox!.messages().filter((m) => m.to === phone)[1]!;
    assert.equal(last.body, 'LaundryConnect: ऑर्डर व भुगतान SMS अलर्ट चालू। मदद: HELP, बंद: STOP');
    assert.equal(last.numSegments, 1);

    await text(phone, 'START');
    await text(phone, 'yes');
    assert.equal(await confirmations(user.id), 2, 'already on: no opt-in, no confirmation');
  });
});
