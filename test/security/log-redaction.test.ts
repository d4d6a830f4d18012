import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import twilio from 'twilio';
import { waitFor } from '../helpers/fixtures.ts';
import { ENGINE } from '../helpers/test-db.ts';
import {
  ADMIN_KEY,
  call,
  type SecurityApp,
  startSecurityApp,
  TWILIO_SID,
  TWILIO_TOKEN,
  USER_TOKEN_SECRET,
} from './helpers.ts';

/**
 * The service runs a day's worth of traffic at `trace` level (successes, a provider failure, refused
 * callers, forged callbacks, a server error) with its log stream captured; then the capture is
 * scanned for every secret and every full phone number it handled.
 */
const PHONE = '+919876512345';
const FAILING_PHONE = '+919876554321';
// DLT allows 30 characters per variable, so the payload is short.
const HOSTILE_ORDER = '{{7|times:6}}{% comment %}';

describe(`secrets and phone numbers never reach the logs (${ENGINE})`, () => {
  let s: SecurityApp;
  let userToken: string;
  before(async () => {
    s = await startSecurityApp({ LOG_LEVEL: 'trace' });
    s.app.sms.sandbox!.setFaults({ byNumber: { [FAILING_PHONE]: { createError: 21211 } } });
  });
  after(async () => {
    await s.close();
  });

  test('a day of traffic, including failures, at trace level', async () => {
    for (const [id, phone] of [
      ['log-alice', PHONE],
      ['log-bob', FAILING_PHONE],
    ] as const) {
      const put = await call(s.url, 'PUT', `/api/v1/users/${id}`, {
        key: ADMIN_KEY,
        body: { phone, email: `${id}@example.com`, first_name: id },
      });
      assert.equal(put.status, 201, put.text);
      const prefs = await call(s.url, 'PATCH', `/api/notifications/preferences/?user_id=${id}`, {
        headers: { 'x-api-key': s.serviceKey },
        body: { order_updates_sms: true },
      });
      assert.equal(prefs.status, 200, prefs.text);
    }
    const token = await call(s.url, 'POST', '/api/v1/users/log-alice/token', { key: s.serviceKey });
    userToken = (JSON.parse(token.text) as { token: string }).token;
    assert.equal((await call(s.url, 'GET', '/api/v1/inbox', { key: userToken })).status, 200);

    const ids: string[] = [];
    for (const user of ['log-alice', 'log-bob']) {
      const res = await call(s.url, 'POST', '/api/v1/notifications', {
        key: s.serviceKey,
        body: {
          user_id: user,
          type: 'order_confirmed',
          context: { order: { order_number: HOSTILE_ORDER, pickup_date: 'Sat 9-11' } },
        },
      });
      assert.equal(res.status, 201, res.text);
      ids.push((JSON.parse(res.text) as { notification_id: string }).notification_id);
    }
    const smsStatus = async (id: string) => {
      const view = JSON.parse(
        (await call(s.url, 'GET', `/api/v1/notifications/${id}`, { key: ADMIN_KEY })).text,
      ) as {
        deliveries: Array<{ channel: string; status: string }>;
      };
      return view.deliveries.find((d) => d.channel === 'sms')!.status;
    };
    await waitFor(async () => (await smsStatus(ids[0]!)) === 'delivered', 20_000, 'alice SMS delivered');
    await waitFor(async () => (await smsStatus(ids[1]!)) === 'failed', 20_000, 'bob SMS failed');

    // Refused callers and forged callbacks.
    await call(s.url, 'GET', '/api/v1/users/log-alice', { key: 'lcn_svc_wrong_key_1234567890' });
    await call(s.url, 'GET', '/api/v1/users/log-alice', { key: userToken });
    const cb = {
      MessageSid: 'SM' + 'e'.repeat(32),
      MessageStatus: 'delivered',
      To: PHONE,
      From: '+15005550006',
    };
    const cbUrl = `${s.url}/api/sms/status-callback/`;
    for (const sig of ['forged', twilio.getExpectedTwilioSignature(TWILIO_TOKEN, cbUrl, cb)]) {
      await fetch(cbUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': sig },
        body: new URLSearchParams(cb).toString(),
      });
    }
  });

  test('Liquid in the order number reached the phone as text', () => {
    const sms = s.app.sms.sandbox!.messages().find((m) => m.to === PHONE);
    assert.ok(sms, 'alice got an SMS');
    assert.ok(sms.body.includes(HOSTILE_ORDER), sms.body);
    assert.ok(!sms.body.includes('42'), sms.body);
  });

  function leaksIn(logs: string): string[] {
    const basic = Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString('base64');
    const secrets: Record<string, string> = {
      'admin key': ADMIN_KEY,
      'service key': s.serviceKey,
      'wrong key a caller sent': 'lcn_svc_wrong_key_1234567890',
      'Twilio auth token': TWILIO_TOKEN,
      'Twilio Basic auth': basic,
      'user-token secret': USER_TOKEN_SECRET,
      'user token': userToken,
      'user token signature': userToken.split('.')[2]!,
    };
    for (const phone of [PHONE, FAILING_PHONE]) {
      secrets[`phone ${phone}`] = phone;
      secrets[`phone ${phone} without +`] = phone.slice(1);
      secrets[`national number of ${phone}`] = phone.slice(3);
    }
    return Object.entries(secrets)
      .filter(([, value]) => logs.includes(value))
      .map(([what, value]) => {
        const line = logs.split('\n').find((l) => l.includes(value)) ?? '';
        return `${what}: ${line.slice(0, 400)}`;
      });
  }

  test('the captured log holds no secret, token or full phone number', () => {
    const logs = s.logs();
    // The lines that handle a phone number were written, masked.
    assert.match(logs, /"to":"\+91\*+21".*"msg":"SMS send failed"/);
    assert.match(logs, /status callback for an unknown message/);
    assert.deepEqual(leaksIn(logs), []);
  });

  test('a request that fails inside the service logs the error without the personal data it carried', async () => {
    // A constraint the service does not know about makes the upsert fail in the database, as a
    // schema change or a database fault would: a 500 whose driver error carries the statement's
    // parameters and, in its detail, the whole row (phone, email, name).
    await s.t.database.db.execute(
      sql`alter table users add constraint no_such_name check (first_name <> 'carol')`,
    );
    const before = s.logs().length;
    const res = await call(s.url, 'PUT', '/api/v1/users/log-carol', {
      key: ADMIN_KEY,
      body: { phone: PHONE, email: 'carol@example.com', first_name: 'carol' },
    });
    assert.equal(res.status, 500, res.text);
    const logged = s.logs().slice(before);
    assert.match(logged, /"level":50/, 'the failure was logged');
    // Enough to find the fault: the SQLSTATE, the constraint, the statement, the route.
    assert.match(logged, /"code":"23514"/);
    assert.match(logged, /"constraint":"no_such_name"/);
    assert.match(logged, /"query":"insert into \\"users\\"/);
    assert.match(logged, /"route":"\/api\/v1\/users\/:userId"/);
    assert.deepEqual(leaksIn(logged), []);
    assert.ok(
      !logged.includes('carol'),
      `the name, email or user id reached the log: ${logged.slice(0, 600)}`,
    );
  });
});
