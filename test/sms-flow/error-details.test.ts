import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { SmsService } from '../../src/channels/sms/sms-service.ts';
import { createTwilioClient } from '../../src/channels/sms/twilio-http-client.ts';
import { deliveries } from '../../src/db/schema.ts';
import { ProviderStatusWriter } from '../../src/deliveries/apply-provider-statuses.ts';
import { SmsStatusSweep } from '../../src/tracking/status-sweep.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { notify, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, silentLogger, type TestDatabase } from '../helpers/test-db.ts';

/**
 * A failed SMS says why the same way whichever path reported it: `error_message` carries Twilio's
 * text, and `metadata.sms.error_code` is an integer as in Twilio's API.
 */
describe(`SMS failure details (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const unknown = '+919876500401';
  const landline = '+919876500402';
  const filtered = '+919876500403';
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t);
    app.sms.sandbox!.setFaults({
      byNumber: {
        [unknown]: { finalStatus: 'undelivered', errorCode: 30005 },
        [landline]: { createError: 21614 },
        [filtered]: { finalStatus: 'failed', errorCode: 30007 },
      },
    });
  });
  after(async () => {
    app.sms.sandbox!.setFaults({});
    await app.close();
    await t.close();
  });
  const smsMetadata = (d: { metadata: unknown }) => (d.metadata as { sms: Record<string, unknown> }).sms;

  test('a failure reported by status callback (30005) has its text and a numeric code', async () => {
    await smsUser(t.database.db, 'err-callback', unknown);
    const d = await waitForSmsStatus(t.database.db, await notify(app, 'err-callback'), 'failed');
    assert.equal(d.errorCode, '30005');
    assert.equal(d.errorMessage, 'Twilio error 30005: Unknown destination handset');
    assert.strictEqual(smsMetadata(d)['error_code'], 30005);
  });

  test('a request Twilio refused (21614) has the same shape', async () => {
    await smsUser(t.database.db, 'err-request', landline);
    const d = await waitForSmsStatus(t.database.db, await notify(app, 'err-request'), 'failed');
    assert.equal(d.errorCode, '21614');
    assert.match(d.errorMessage ?? '', /^Twilio error 21614: /);
    assert.strictEqual(smsMetadata(d)['error_code'], 21614);
  });

  test('a failure the status sweep fetched keeps the text Twilio gave', async () => {
    const db = t.database.db;
    const user = await smsUser(db, 'err-sweep', filtered);
    // Sent without a callback URL, so only the sweep learns how it ended.
    const silent = new SmsService({
      client: createTwilioClient({
        accountSid: app.sms.accountSid!,
        authToken: app.sms.authToken!,
        baseUrl: app.sms.sandbox!.url,
        timeoutMs: 5000,
      }),
      from: app.sms.from,
      messagingServiceSid: undefined,
      statusCallbackUrl: () => undefined,
    });
    const sent = await silent.sendSms(filtered, 'LaundryConnect: error details', null);
    assert.ok(sent.success);
    const final = await waitFor(async () =>
      app.sms.sandbox!.messages().find((m) => m.sid === sent.message_sid && m.status === 'failed'),
    );
    await db.execute(sql`
      with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message)
        values ('ntf_err_sweep', ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm') returning id)
      insert into deliveries (notification_id, channel, status, attempts, max_attempts, provider_message_id, provider_status, updated_at)
      select id, 'sms', 'sent', 1, 4, ${sent.message_sid}, 'queued', now() - interval '1 hour' from n`);
    const sweep = new SmsStatusSweep({
      db,
      service: app.sms.service,
      status: { retryDelayMs: 100, onOptedOut: async () => {}, writer: new ProviderStatusWriter(db) },
      logger: silentLogger,
      intervalMs: 60_000,
      staleAfterMs: 60_000,
    });
    assert.equal(await sweep.sweep(), 1);
    const [d] = await db.select().from(deliveries).where(eq(deliveries.providerMessageId, sent.message_sid));
    assert.equal(d!.status, 'failed');
    assert.equal(d!.errorMessage, `Twilio error 30007: ${final.errorMessage}`);
    assert.strictEqual(smsMetadata(d!)['error_code'], 30007);
  });
});
