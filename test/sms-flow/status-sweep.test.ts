import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { SmsService } from '../../src/channels/sms/sms-service.ts';
import { createTwilioClient } from '../../src/channels/sms/twilio-http-client.ts';
import { TestClock } from '../../src/clock.ts';
import { deliveries } from '../../src/db/schema.ts';
import { ProviderStatusWriter } from '../../src/deliveries/apply-provider-statuses.ts';
import { SmsStatusSweep } from '../../src/tracking/status-sweep.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, silentLogger, type TestDatabase } from '../helpers/test-db.ts';

describe(`SMS status sweep (${ENGINE})`, () => {
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

  /** An SMS sent without a callback URL (as if every callback had been lost), recorded as `sent` at `updatedAt`. */
  async function silentlySent(
    userId: string,
    phone: string,
    publicId: string,
    updatedAt: ReturnType<typeof sql>,
  ) {
    const db = t.database.db;
    const user = await smsUser(db, userId, phone);
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
    const sent = await silent.sendSms(phone, 'LaundryConnect: sweep test', null);
    assert.ok(sent.success);
    await waitFor(async () =>
      app.sms.sandbox!.messages().find((m) => m.sid === sent.message_sid && m.status === 'delivered'),
    );
    await db.execute(sql`
      with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message)
        values (${publicId}, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm') returning id)
      insert into deliveries (notification_id, channel, status, attempts, max_attempts, provider_message_id, provider_status, updated_at)
      select id, 'sms', 'sent', 1, 4, ${sent.message_sid}, 'queued', ${updatedAt} from n`);
    return sent.message_sid!;
  }
  const statusOf = async (sid: string) =>
    (await t.database.db.select().from(deliveries).where(eq(deliveries.providerMessageId, sid)))[0]!;

  test('a delivery whose callbacks arrived before it was recorded as sent is caught up by asking Twilio', async () => {
    const db = t.database.db;
    const sid = await silentlySent(
      'sweep-user',
      '+919876500301',
      'ntf_sweep',
      sql`now() - interval '1 hour'`,
    );
    const sweep = new SmsStatusSweep({
      db,
      service: app.sms.service,
      status: { retryDelayMs: 100, onOptedOut: async () => {}, writer: new ProviderStatusWriter(db) },
      logger: silentLogger,
      intervalMs: 60_000,
      staleAfterMs: 60_000,
    });
    assert.equal(await sweep.sweep(), 1);
    const d = await statusOf(sid);
    assert.equal(d.status, 'delivered');
    assert.equal(d.providerStatus, 'delivered');
    // Touched: the next round leaves it alone.
    assert.equal(await sweep.sweep(), 0);
  });

  test('the sweep runs and judges "quiet too long" on its clock: stepping it a minute catches a just-sent SMS up', async () => {
    const db = t.database.db;
    const sid = await silentlySent('sweep-clock', '+919876500302', 'ntf_sweep_clock', sql`now()`);
    const clock = new TestClock();
    const sweep = new SmsStatusSweep({
      db,
      service: app.sms.service,
      status: { retryDelayMs: 100, onOptedOut: async () => {}, writer: new ProviderStatusWriter(db), clock },
      logger: silentLogger,
      intervalMs: 60_000,
      staleAfterMs: 60_000,
      clock,
    });
    sweep.start();
    try {
      clock.advance(60_000);
      await waitFor(
        async () => (await statusOf(sid)).status === 'delivered',
        10_000,
        'caught up by the sweep',
      );
    } finally {
      await sweep.stop();
    }
  });
});
