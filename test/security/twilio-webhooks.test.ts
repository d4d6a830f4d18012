import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import fc from 'fast-check';
import twilio from 'twilio';
import { queryRows } from '../../src/db/database.ts';
import { deliveries } from '../../src/db/schema.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { type SecurityApp, seedSmsUser, startSecurityApp, TWILIO_SID, TWILIO_TOKEN } from './helpers.ts';

/**
 * Twilio status callbacks are the one unauthenticated-by-key entry point: the signature is the only
 * credential. Forged, cross-account, tampered, oversized and random callbacks must be refused (or
 * harmlessly ignored) and must never change a delivery; a replay must change nothing.
 */
const BODY_LIMIT = 4096;
const OTHER_ACCOUNT_TOKEN = 'aaaabbbbccccddddeeeeffff00001111';

describe(`Twilio webhooks under attack (${ENGINE})`, () => {
  let s: SecurityApp;
  let seq = 0;
  before(async () => {
    s = await startSecurityApp({ LOG_LEVEL: 'silent', BODY_LIMIT_BYTES: String(BODY_LIMIT) });
  });
  after(async () => {
    await s.close();
  });

  const url = () => `${s.url}/api/sms/status-callback/`;

  /** A delivery in `sent`, as the worker leaves it once Twilio accepted the SMS. */
  async function sentDelivery() {
    const sid = `SM${(++seq).toString(16).padStart(32, '0')}`;
    const db = s.t.database.db;
    const user = await seedSmsUser(s, `wh-${sid}`, '+919876500002');
    await db.execute(sql`
      with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message)
        values (${`ntf_${sid}`}, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm')
        returning id)
      insert into deliveries (notification_id, channel, status, attempts, max_attempts, provider_message_id, provider_status)
      select id, 'sms', 'sent', 1, 4, ${sid}, 'queued' from n`);
    const read = async () =>
      (await db.select().from(deliveries).where(eq(deliveries.providerMessageId, sid)))[0]!;
    return { sid, read };
  }

  const params = (sid: string, status: string, extra: Record<string, string> = {}) => ({
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: status,
    SmsStatus: status,
    AccountSid: TWILIO_SID,
    From: '+15005550006',
    To: '+919876500002',
    ApiVersion: '2010-04-01',
    ...extra,
  });
  const sign = (p: Record<string, string>, token = TWILIO_TOKEN, target = url()) =>
    twilio.getExpectedTwilioSignature(token, target, p);

  async function post(body: string | Record<string, string>, signature?: string, target = url()) {
    const res = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      },
      body: typeof body === 'string' ? body : new URLSearchParams(body).toString(),
    });
    return { status: res.status, text: await res.text() };
  }

  test('random signatures never pass and change nothing', async () => {
    const d = await sentDelivery();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.base64String({ minLength: 28, maxLength: 28 }), fc.string()),
        async (sig) => {
          const res = await post(params(d.sid, 'failed', { ErrorCode: '30007' }), sig);
          assert.equal(res.status, 403, res.text);
        },
      ),
      { numRuns: 100 },
    );
    const row = await d.read();
    assert.equal(row.status, 'sent');
    assert.equal(row.providerStatus, 'queued');
  });

  test('a callback signed by another Twilio account (its own token) is refused with 403', async () => {
    const d = await sentDelivery();
    const p = params(d.sid, 'undelivered', { ErrorCode: '30005', AccountSid: `AC${'9'.repeat(32)}` });
    const res = await post(p, sign(p, OTHER_ACCOUNT_TOKEN));
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.text).code, 'SIGNATURE_INVALID');
    assert.equal((await d.read()).status, 'sent');
  });

  test('a valid signature replayed on another URL, or with one field changed, is refused', async () => {
    const d = await sentDelivery();
    const p = params(d.sid, 'delivered');
    const good = sign(p);
    for (const [body, target] of [
      [{ ...p, MessageStatus: 'failed', ErrorCode: '30007' }, url()],
      [{ ...p, MessageSid: 'SM' + 'f'.repeat(32) }, url()],
      [p, `${url()}?extra=1`],
      [p, url().replace(/\/$/, '')],
    ] as const) {
      const res = await post(body, good, target);
      assert.ok(res.status === 403 || res.status === 404, `${target} ${res.status} ${res.text}`);
    }
    const row = await d.read();
    assert.equal(row.status, 'sent');
    assert.equal(row.providerStatus, 'queued');
  });

  test('a replayed genuine callback changes nothing the second time (and cannot regress a status)', async () => {
    const d = await sentDelivery();
    const delivered = params(d.sid, 'delivered');
    const sent = params(d.sid, 'sent');
    for (const p of [delivered, delivered, sent, delivered, sent]) {
      assert.equal((await post(p, sign(p))).status, 200);
    }
    const row = await d.read();
    assert.equal(row.status, 'delivered');
    assert.equal(row.providerStatus, 'delivered');
    const [history] = await queryRows<{ applied: number; ignored: number }>(
      s.t.database.db,
      sql`select count(*) filter (where detail = 'status callback')::int as applied,
                 count(*) filter (where detail like 'status callback ignored%')::int as ignored
          from delivery_status_history where delivery_id = ${row.id}`,
    );
    assert.deepEqual(
      history,
      { applied: 1, ignored: 1 },
      'one row per distinct status: an identical replay adds none',
    );
  });

  test('one signed callback replayed 50 times adds one history row; a different status still records', async () => {
    const d = await sentDelivery();
    const id = (await d.read()).id;
    const historyRows = async () =>
      (
        await queryRows<{ n: number }>(
          s.t.database.db,
          sql`select count(*)::int as n from delivery_status_history where delivery_id = ${id}`,
        )
      )[0]!.n;
    const before = await historyRows();
    const delivered = params(d.sid, 'delivered');
    const sig = sign(delivered);
    for (let i = 0; i < 50; i++) assert.equal((await post(delivered, sig)).status, 200);
    assert.equal(await historyRows(), before + 1, 'the replays add nothing');
    const sent = params(d.sid, 'sent');
    assert.equal((await post(sent, sign(sent))).status, 200);
    assert.equal(await historyRows(), before + 2, 'a status not yet recorded is');
    assert.equal((await d.read()).status, 'delivered');
  });

  test('an oversized callback is refused with 413 before anything is read', async () => {
    const d = await sentDelivery();
    const p = params(d.sid, 'failed', { ErrorCode: '30007', Body: 'x'.repeat(BODY_LIMIT * 2) });
    const res = await post(p, sign(p));
    assert.equal(res.status, 413, res.text);
    assert.equal((await d.read()).status, 'sent');
  });

  test('random form bodies: unsigned → 403; validly signed → 200 or 400; never a 5xx', async () => {
    const field = fc.constantFrom(
      'MessageSid',
      'MessageStatus',
      'ErrorCode',
      'Price',
      'AccountSid',
      'To',
      'From',
      'Body',
      '__proto__',
      'constructor',
      'MessageSid[]',
      'a[b][c]',
    );
    const value = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom(
        'delivered',
        'failed',
        'undelivered',
        'sent',
        'read',
        'canceled',
        '30003',
        '21610',
        '-1',
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(field, value, { maxKeys: 8 }), fc.boolean(), async (form, signed) => {
        const p = Object.fromEntries(Object.entries(form).filter(([k]) => k !== '__proto__'));
        const res = await post(p, signed ? sign(p) : undefined);
        assert.ok(res.status < 500, `${JSON.stringify(p)} → ${res.status} ${res.text}`);
        if (!signed) assert.equal(res.status, 403);
        else assert.ok(res.status === 200 || res.status === 400, `${JSON.stringify(p)} → ${res.status}`);
      }),
      { numRuns: 150 },
    );
  });

  test('inbound SMS webhook: forged or unsigned → 403; random signed bodies never a 5xx', async () => {
    const inbound = `${s.url}/api/sms/inbound/`;
    const sms = {
      MessageSid: `SM${'a'.repeat(32)}`,
      From: '+919876500002',
      To: '+15005550006',
      Body: 'STOP',
      AccountSid: TWILIO_SID,
    };
    assert.equal((await post(sms, undefined, inbound)).status, 403);
    assert.equal((await post(sms, sign(sms, OTHER_ACCOUNT_TOKEN, inbound), inbound)).status, 403);
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom('MessageSid', 'From', 'To', 'Body', 'AccountSid', 'OptOutType', 'NumSegments'),
          fc.oneof(
            fc.string({ maxLength: 60 }),
            fc.constantFrom('STOP', 'START', 'HELP', 'YES', '+919876500002'),
          ),
          { maxKeys: 7 },
        ),
        async (form) => {
          const res = await post(form, sign(form, TWILIO_TOKEN, inbound), inbound);
          assert.ok(res.status < 500, `${JSON.stringify(form)} → ${res.status} ${res.text}`);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('a validly signed inbound SMS whose text holds a NUL is a 400, not a 500', async () => {
    // The webhook's schema lets NUL through; PostgreSQL refuses it (22021), and that is the
    // request's fault: a 400, which Twilio does not retry.
    const inbound = `${s.url}/api/sms/inbound/`;
    const sms = {
      MessageSid: `SM${'b'.repeat(32)}`,
      From: '+919876500002',
      To: '+15005550006',
      Body: 'hi\u0000',
      AccountSid: TWILIO_SID,
    };
    const res = await post(sms, sign(sms, TWILIO_TOKEN, inbound), inbound);
    assert.equal(res.status, 400, res.text);
    assert.equal((JSON.parse(res.text) as { code: string }).code, 'VALIDATION_FAILED');
  });

  test('non-form and malformed bodies are 4xx', async () => {
    for (const [type, body] of [
      ['application/json', '{"MessageSid": "SM1", "MessageStatus": "delivered"}'],
      ['application/x-www-form-urlencoded', '%%%=%=%'],
      ['text/xml', '<Response/>'],
      ['application/x-www-form-urlencoded', ''],
    ] as const) {
      const res = await fetch(url(), {
        method: 'POST',
        headers: { 'content-type': type, 'x-twilio-signature': 'AAAA' },
        body,
      });
      assert.ok(res.status >= 400 && res.status < 500, `${type} ${body} → ${res.status}`);
    }
  });
});
