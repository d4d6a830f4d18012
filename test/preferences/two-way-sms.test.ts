import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { matchKeyword } from '../../src/channels/sms/sms-keywords.ts';
import { notificationPreferences, preferenceChanges } from '../../src/db/schema.ts';
import { retryPolicies } from '../../src/deliveries/retry-policy.ts';
import { SMS_INBOUND_PATH } from '../../src/inbound/sms-inbound.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { insertUser } from '../helpers/fixtures.ts';
import {
  ADMIN_KEY,
  notify,
  smsDelivery,
  smsUser,
  startSmsApp,
  waitForSmsStatus,
} from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

describe('keyword matching as Twilio does it (pure)', () => {
  const cases: Array<[string, string | null]> = [
    ['STOP', 'STOP'],
    ['  stop\n', 'STOP'],
    ['Unsubscribe', 'STOP'],
    ['stopall', 'STOP'],
    ['cancel', 'STOP'],
    ['END', 'STOP'],
    ['quit', 'STOP'],
    ['start', 'START'],
    ['Yes', 'START'],
    ['UNSTOP', 'START'],
    ['help', 'HELP'],
    ['stop please', null],
    ['STOP!', null],
    ['', null],
  ];
  for (const [body, expected] of cases) {
    test(`${JSON.stringify(body)} → ${expected}`, () => assert.equal(matchKeyword(body), expected));
  }
});

describe(`two-way SMS through the sandbox (${ENGINE})`, () => {
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
  const text = (from: string, body: string) =>
    app.sms.sandbox!.sendInbound({ from, to: app.sms.from!, body, url: app.url + SMS_INBOUND_PATH });
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

  test('STOP turns SMS off (next SMS skipped), START turns it back on (next SMS sent), both recorded', async () => {
    const phone = '+919876511111';
    const user = await insertUser(db(), 'tw-stop', { phone });
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
    await waitForSmsStatus(db(), await notify(app, 'tw-stop'), 'delivered');

    const stop = await text(phone, ' Stop ');
    assert.equal(stop.status, 200);
    assert.equal(stop.body, '<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    assert.deepEqual(await smsPrefs(user.id), []);
    const skipped = await smsDelivery(db(), await notify(app, 'tw-stop'));
    assert.equal(skipped.status, 'skipped');
    assert.equal(skipped.skipReason, 'disabled_by_user');

    const start = await text(phone, 'START');
    // Twilio answers START itself; the opt-in confirmation is ours (test/preferences/sms-opt-in.test.ts).
    assert.equal(start.body, '<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    // What STOP switched off comes back, and nothing more.
    assert.deepEqual(await smsPrefs(user.id), ['order_updates', 'payment_updates']);
    await waitForSmsStatus(db(), await notify(app, 'tw-stop'), 'delivered');

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

  test('HELP and INFO answer with the help text as TwiML', async () => {
    for (const body of ['HELP', 'info']) {
      const res = await text('+919876511112', body);
      assert.equal(res.status, 200);
      assert.match(
        res.body,
        /^<\?xml version="1.0" encoding="UTF-8"\?><Response><Message>LaundryConnect: order and payment alerts\. Msg&amp;data rates may apply\. Reply STOP to opt out/,
      );
    }
  });

  test('a YES to a message that asked for confirmation confirms that order and shows in the API', async () => {
    const phone = '+919876511113';
    const user = await insertUser(db(), 'tw-yes', { phone });
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
        userId: 'tw-yes',
        type: 'order_confirmed',
        context: { ...getNotificationType('order_confirmed')!.sampleContext, ask_confirmation: true },
      },
    );
    await waitForSmsStatus(db(), notificationId, 'delivered');
    const yes = await text(phone, 'yes');
    assert.match(yes.body, /<Message>LaundryConnect: thanks, order LC240117 is confirmed\.<\/Message>/);
    assert.deepEqual(await smsPrefs(user.id), ['order_updates'], 'an answer is not an opt-in');
    await text(phone, 'Please come after 6pm');

    const res = await fetch(`${app.url}/api/notifications/sms-replies/?user_id=tw-yes`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    const { replies } = (await res.json()) as { replies: Array<Record<string, unknown>> };
    assert.deepEqual(
      replies.map((r) => [r['body'], r['keyword'], r['order_number'], r['confirmed'], r['notification_id']]),
      [
        ['Please come after 6pm', null, 'LC240117', false, notificationId],
        ['yes', null, 'LC240117', true, notificationId],
      ],
    );
  });

  test('YES with no question pending is an opt-in, like START', async () => {
    const phone = '+919876511114';
    const user = await smsUser(db(), 'tw-yes-start', phone);
    await text(phone, 'STOP');
    assert.deepEqual(await smsPrefs(user.id), []);
    await text(phone, 'YES');
    assert.ok((await smsPrefs(user.id)).length > 0);
  });

  test('a forged inbound webhook is refused and changes nothing', async () => {
    const phone = '+919876511115';
    const user = await smsUser(db(), 'tw-forged', phone);
    const res = await fetch(app.url + SMS_INBOUND_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'bm9wZQ==' },
      body: new URLSearchParams({
        MessageSid: 'SM' + '0'.repeat(32),
        From: phone,
        To: '+15005550006',
        Body: 'STOP',
      }),
    });
    assert.equal(res.status, 403);
    assert.ok((await smsPrefs(user.id)).length > 0);
  });
});
