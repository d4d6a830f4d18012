import assert from 'node:assert/strict';
import { test } from 'node:test';
import twilio from 'twilio';
import { waitFor } from '../helpers/fixtures.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { ADMIN_KEY, call, startSecurityApp, TWILIO_SID, TWILIO_TOKEN } from './helpers.ts';

const MAX_IN_FLIGHT = 3;
const RETRY_AFTER = 7;

// PostgreSQL bounds the wait for the database with its pool; this bound is the embedded engine's.
test('embedded: with the database busy, requests past OVERLOAD_EMBEDDED_MAX_IN_FLIGHT are refused at once with 503 and Retry-After', {
  skip: ENGINE !== 'pglite',
}, async () => {
  const s = await startSecurityApp({
    LOG_LEVEL: 'silent',
    OVERLOAD_EMBEDDED_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT),
    OVERLOAD_RETRY_AFTER_SECONDS: String(RETRY_AFTER),
  });
  const get = () => call(s.url, 'GET', '/api/v1/notifications/ntf_not_there', { key: ADMIN_KEY });
  let release = () => {};
  let blocker: Promise<void> | undefined;
  let waiting: ReturnType<typeof get>[] = [];
  let reports: ReturnType<typeof get>[] = [];
  // A signed `delivered` for a message the service never sent (answered once the database is free).
  const statusCallback = (sid: string) => {
    const target = `${s.url}/api/sms/status-callback/`;
    const params = {
      MessageSid: sid,
      SmsSid: sid,
      MessageStatus: 'delivered',
      SmsStatus: 'delivered',
      AccountSid: TWILIO_SID,
      From: '+15005550006',
      To: '+919876500002',
      ApiVersion: '2010-04-01',
    };
    return call(s.url, 'POST', '/api/sms/status-callback/', {
      key: null,
      rawBody: new URLSearchParams(params).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(TWILIO_TOKEN, target, params),
      },
    });
  };
  try {
    // PGlite runs one transaction at a time: while this one is open every other query waits.
    await new Promise<void>((holding) => {
      blocker = s.t.database.db.transaction(async () => {
        holding();
        await new Promise<void>((r) => {
          release = r;
        });
      });
    });
    waiting = Array.from({ length: MAX_IN_FLIGHT }, get);
    await waitFor(
      async () => s.app.http!.admission!.inFlight.api === MAX_IN_FLIGHT,
      30_000,
      `${MAX_IN_FLIGHT} requests waiting for the database`,
    );

    const refused = await get();
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.headers.get('retry-after'), String(RETRY_AFTER));
    const problem = JSON.parse(refused.text) as { code: string; detail: string };
    assert.equal(problem.code, 'SERVICE_OVERLOADED');
    assert.match(problem.detail, /3 requests in flight/);
    assert.equal((await call(s.url, 'GET', '/healthz')).status, 200, 'liveness is not counted');

    // Provider reports have a bound of their own: a full API pool does not shed them (Twilio would
    // not retry), they wait for the database like the API's requests; past their own bound, 503.
    reports = Array.from({ length: MAX_IN_FLIGHT }, (_, i) =>
      statusCallback(`SM${String(i).padStart(32, '0')}`),
    );
    await waitFor(
      async () => s.app.http!.admission!.inFlight.provider === MAX_IN_FLIGHT,
      30_000,
      `${MAX_IN_FLIGHT} status callbacks waiting for the database, none refused`,
    );
    const shedReport = await statusCallback('SM'.padEnd(34, 'f'));
    assert.equal(shedReport.status, 503, 'past its own bound a report is refused too');

    release();
    await blocker;
    // The waiting ones are served once the database is free (404: no such notification), and so is
    // the next one: the count went back down.
    assert.deepEqual(
      (await Promise.all(waiting)).map((r) => r.status),
      Array(MAX_IN_FLIGHT).fill(404),
    );
    for (const r of await Promise.all(reports)) assert.notEqual(r.status, 503, r.text);
    assert.equal((await get()).status, 404);
    assert.deepEqual(s.app.http!.admission!.inFlight, { api: 0, provider: 0 });
  } finally {
    release();
    await blocker;
    await Promise.allSettled([...waiting, ...reports]);
    await s.close();
  }
});
