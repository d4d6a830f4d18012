import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import twilio from 'twilio';
import type { RunningApp } from '../../src/app.ts';
import { queryRows } from '../../src/db/database.ts';
import { deliveries } from '../../src/db/schema.ts';
import { completeBatch } from '../../src/deliveries/complete.ts';
import { smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const TOKEN = 'b7e1c0ffee0123456789abcdef012345';
const SID = 'AC0123456789abcdef0123456789abcdef';

describe(`Twilio status callback webhook (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, { TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: TOKEN, SMS_BACKEND: 'sandbox' });
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  /** A delivery in `sent` with a known provider id, as the worker leaves it after Twilio accepted the SMS. */
  async function sentDelivery(messageSid: string) {
    const db = t.database.db;
    const user = await smsUser(db, `cb-${messageSid}`);
    await db.execute(sql`
      with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message)
        values (${`ntf_${messageSid}`}, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm')
        returning id)
      insert into deliveries (notification_id, channel, status, attempts, max_attempts, provider_message_id,
                              provider_status, metadata)
      select id, 'sms', 'sent', 1, 4, ${messageSid}, 'queued',
             ${JSON.stringify({ sms: { sent: true, message_sid: messageSid, status: 'queued', to: '+919876543210' } })}::jsonb
      from n`);
    return async () =>
      (await db.select().from(deliveries).where(eq(deliveries.providerMessageId, messageSid)))[0]!;
  }

  const url = () => `${app.url}/api/sms/status-callback/`;
  async function post(params: Record<string, string>, signature: string | undefined, body = params) {
    return fetch(url(), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      },
      body: new URLSearchParams(body).toString(),
    });
  }
  const callback = (sidValue: string, status: string) => ({
    MessageSid: sidValue,
    SmsSid: sidValue,
    MessageStatus: status,
    SmsStatus: status,
    AccountSid: SID,
    From: '+15005550006',
    To: '+919876543210',
    ApiVersion: '2010-04-01',
  });

  test("a callback signed with the SDK's own signing function is accepted and applied", async () => {
    const msg = 'SM00000000000000000000000000000001';
    const read = await sentDelivery(msg);
    const params = callback(msg, 'delivered');
    const res = await post(params, twilio.getExpectedTwilioSignature(TOKEN, url(), params));
    assert.equal(res.status, 200);
    const d = await read();
    assert.equal(d.status, 'delivered');
    assert.equal(d.providerStatus, 'delivered');
  });

  test('a tampered body, a wrong token, a wrong URL or a missing header is refused with 403 and changes nothing', async () => {
    const msg = 'SM00000000000000000000000000000002';
    const read = await sentDelivery(msg);
    const params = callback(msg, 'delivered');
    const good = twilio.getExpectedTwilioSignature(TOKEN, url(), params);
    const attempts = [
      await post(params, good, { ...params, MessageStatus: 'failed' }),
      await post(params, twilio.getExpectedTwilioSignature('wrong-token', url(), params)),
      await post(
        params,
        twilio.getExpectedTwilioSignature(TOKEN, 'https://evil.example.com/api/sms/status-callback/', params),
      ),
      await post(params, undefined),
    ];
    for (const res of attempts) {
      assert.equal(res.status, 403);
      const body = (await res.json()) as { code: string };
      assert.equal(body.code, 'SIGNATURE_INVALID');
    }
    const d = await read();
    assert.equal(d.status, 'sent');
    assert.equal(d.providerStatus, 'queued');
  });

  test('a late "sent" after "delivered" is recorded but does not regress; duplicates are harmless', async () => {
    const msg = 'SM00000000000000000000000000000003';
    const read = await sentDelivery(msg);
    for (const status of ['delivered', 'sent', 'delivered', 'sending']) {
      const params = callback(msg, status);
      const res = await post(params, twilio.getExpectedTwilioSignature(TOKEN, url(), params));
      assert.equal(res.status, 200);
    }
    const d = await read();
    assert.equal(d.status, 'delivered');
    assert.equal(d.providerStatus, 'delivered');
  });

  test("callbacks that beat the worker's write of the sid are kept and applied when it is written", async () => {
    const msg = 'SM00000000000000000000000000000004';
    const db = t.database.db;
    const user = await smsUser(db, `cb-${msg}`);
    // The worker holds the delivery: Twilio accepted the SMS, the outcome is not written yet.
    const [row] = await queryRows<{ id: string }>(
      db,
      sql`with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message)
        values (${`ntf_${msg}`}, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm') returning id)
      insert into deliveries (notification_id, channel, status, attempts, max_attempts, lease_owner, lease_expires_at)
      select id, 'sms', 'sending', 1, 4, 'w-race', now() + interval '1 minute' from n returning id`,
    );
    for (const status of ['sent', 'delivered']) {
      const params = callback(msg, status);
      assert.equal((await post(params, twilio.getExpectedTwilioSignature(TOKEN, url(), params))).status, 200);
    }
    const written = await completeBatch(db, 'w-race', [
      { id: String(row!.id), event: 'send_ok', providerMessageId: msg, providerStatus: 'queued' },
    ]);
    assert.equal(written.size, 1);
    const [d] = await db.select().from(deliveries).where(eq(deliveries.providerMessageId, msg));
    assert.equal(d!.status, 'delivered');
    assert.equal(d!.providerStatus, 'delivered');
    const [left] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from early_provider_statuses where provider_message_id = ${msg}`,
    );
    assert.equal(left!.n, 0, 'the parked reports were used up');
  });

  test('an unknown message sid is answered 200 and changes nothing', async () => {
    const params = callback('SM0000000000000000000000000000ffff', 'delivered');
    const res = await post(params, twilio.getExpectedTwilioSignature(TOKEN, url(), params));
    assert.equal(res.status, 200);
  });
});

describe(`Twilio webhooks under the API rate limit (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, {
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: TOKEN,
      SMS_BACKEND: 'sandbox',
      RATE_LIMIT_PER_MINUTE: '5',
    });
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  test('signed status callbacks are not limited per address: a burst of reports is all taken', async () => {
    const url = `${app.url}/api/sms/status-callback/`;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const params = {
        MessageSid: `SM${String(i).padStart(32, '0')}`,
        MessageStatus: 'sent',
        AccountSid: SID,
      };
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(TOKEN, url, params),
        },
        body: new URLSearchParams(params).toString(),
      });
      statuses.push(res.status);
    }
    assert.deepEqual(new Set(statuses), new Set([200]));
  });
});
