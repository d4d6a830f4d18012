import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import twilio from 'twilio';
import { deliveries, inboundSms } from '../../src/db/schema.ts';
import { SMS_INBOUND_PATH } from '../../src/inbound/sms-inbound.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { type SecurityApp, seedSmsUser, startSecurityApp, TWILIO_SID, TWILIO_TOKEN } from './helpers.ts';

/**
 * Twilio posts Messaging webhooks form-encoded; a JSON-bodied webhook (`bodySHA256` in the signed
 * URL) is refused with 415 on these routes, signed right or not, and changes nothing. The
 * signatures are made with the twilio SDK's own helpers, as Twilio makes them.
 */
describe(`JSON-bodied Twilio webhooks (${ENGINE})`, () => {
  let s: SecurityApp;
  before(async () => {
    s = await startSecurityApp({ LOG_LEVEL: 'silent' });
  });
  after(async () => {
    await s.close();
  });

  const callbackUrl = () => `${s.url}/api/sms/status-callback/`;
  const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');
  const withHash = (url: string, hash: string) => `${url}?bodySHA256=${hash}`;

  async function sentDelivery(sid: string) {
    const db = s.t.database.db;
    const user = await seedSmsUser(s, `json-${sid}`, '+919876500501');
    await db.execute(sql`
      with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message)
        values (${`ntf_${sid}`}, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm')
        returning id)
      insert into deliveries (notification_id, channel, status, attempts, max_attempts, provider_message_id, provider_status)
      select id, 'sms', 'sent', 1, 4, ${sid}, 'queued' from n`);
    return async () => (await db.select().from(deliveries).where(eq(deliveries.providerMessageId, sid)))[0]!;
  }

  const status = (sid: string, s: string) => ({
    MessageSid: sid,
    MessageStatus: s,
    AccountSid: TWILIO_SID,
    To: '+919876500501',
  });

  async function post(url: string, body: string, type: string, signature: string) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': type, 'x-twilio-signature': signature },
      body,
    });
    return { status: res.status, body: (await res.json()) as { code: string; detail?: string } };
  }

  test('a JSON status callback signed as Twilio signs one is refused with 415, not misread', async () => {
    const sid = `SM${'a'.repeat(32)}`;
    const read = await sentDelivery(sid);
    const body = JSON.stringify(status(sid, 'delivered'));
    const url = withHash(callbackUrl(), sha256(body));
    const signature = twilio.getExpectedTwilioSignature(TWILIO_TOKEN, url, {});
    assert.ok(twilio.validateRequestWithBody(TWILIO_TOKEN, signature, url, body), 'genuinely signed');
    const res = await post(url, body, 'application/json', signature);
    assert.equal(res.status, 415);
    assert.equal(res.body.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.match(res.body.detail ?? '', /form-encoded/);
    assert.equal((await read()).status, 'sent');
  });

  test('a JSON body that does not match its bodySHA256 is never accepted', async () => {
    const sid = `SM${'b'.repeat(32)}`;
    const read = await sentDelivery(sid);
    const genuine = JSON.stringify(status(sid, 'sent'));
    const tampered = status(sid, 'failed');
    const url = withHash(callbackUrl(), sha256(genuine));
    // Signed the way a form callback is (URL + fields): what used to pass without the hash checked.
    const signature = twilio.getExpectedTwilioSignature(TWILIO_TOKEN, url, tampered);
    assert.equal(
      twilio.validateRequestWithBody(TWILIO_TOKEN, signature, url, JSON.stringify(tampered)),
      false,
    );
    const res = await post(url, JSON.stringify(tampered), 'application/json', signature);
    assert.equal(res.status, 415);
    const row = await read();
    assert.equal(row.status, 'sent');
    assert.equal(row.providerStatus, 'queued');
  });

  test('a form body under a bodySHA256 URL is refused too (Twilio puts the hash on JSON bodies only)', async () => {
    const sid = `SM${'c'.repeat(32)}`;
    const read = await sentDelivery(sid);
    const form = status(sid, 'delivered');
    const body = new URLSearchParams(form).toString();
    const url = withHash(callbackUrl(), sha256(body));
    const signature = twilio.getExpectedTwilioSignature(TWILIO_TOKEN, url, form);
    const res = await post(url, body, 'application/x-www-form-urlencoded', signature);
    assert.equal(res.status, 415);
    assert.equal((await read()).status, 'sent');
  });

  test('the inbound SMS route refuses JSON bodies the same way', async () => {
    const sid = `SM${'d'.repeat(32)}`;
    const fields = { MessageSid: sid, From: '+919876500502', To: '+15005550006', Body: 'STOP' };
    const body = JSON.stringify(fields);
    const url = withHash(s.url + SMS_INBOUND_PATH, sha256(body));
    const res = await post(
      url,
      body,
      'application/json',
      twilio.getExpectedTwilioSignature(TWILIO_TOKEN, url, {}),
    );
    assert.equal(res.status, 415);
    const stored = await s.t.database.db.select().from(inboundSms).where(eq(inboundSms.messageSid, sid));
    assert.equal(stored.length, 0);
  });

  test('a form callback with a forged signature is still a 403', async () => {
    const sid = `SM${'e'.repeat(32)}`;
    const read = await sentDelivery(sid);
    const form = status(sid, 'delivered');
    const forged = twilio.getExpectedTwilioSignature('0'.repeat(32), callbackUrl(), form);
    const res = await post(
      callbackUrl(),
      new URLSearchParams(form).toString(),
      'application/x-www-form-urlencoded',
      forged,
    );
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'SIGNATURE_INVALID');
    assert.equal((await read()).status, 'sent');
  });
});
