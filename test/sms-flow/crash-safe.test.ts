import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { DEFAULT_SMS_PRICES } from '../../src/channels/sms/cost.ts';
import { composeSms } from '../../src/channels/sms/sms-composer.ts';
import { claimDue } from '../../src/deliveries/claim.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { notify, smsDelivery, smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const SID = 'AC11111111111111111111111111111111';
const TOKEN = '22222222222222222222222222222222';

describe(`crash-safe SMS sending (${ENGINE})`, () => {
  let t: TestDatabase;
  let api: RunningApp;
  let worker: RunningApp | undefined;
  let adoptedId: string;
  let resentId: string;
  before(async () => {
    t = await createTestDatabase();
    // The API node with the sandbox; no worker yet, so the test plays the worker that dies.
    api = await startApp({
      config: testConfig({
        PORT: '0',
        TWILIO_ACCOUNT_SID: SID,
        TWILIO_AUTH_TOKEN: TOKEN,
        SMS_BACKEND: 'sandbox',
        SANDBOX_STEP_MS: '20',
      }),
      api: true,
      worker: false,
      database: t.database,
    });
    // Both crashes happen before any live worker exists, so none can claim these deliveries first.
    adoptedId = await dieMidSend('crash-sent', '+919876500201', true);
    resentId = await dieMidSend('crash-unsent', '+919876500202', false);
    await startWorker();
  });
  after(async () => {
    await worker?.close();
    await api.close();
    await t.close();
  });

  async function startWorker() {
    worker = await startApp({
      config: testConfig({
        TWILIO_ACCOUNT_SID: SID,
        TWILIO_AUTH_TOKEN: TOKEN,
        SMS_BACKEND: 'sandbox',
        SMS_SANDBOX_URL: api.sms.sandbox!.url,
        PUBLIC_URL: api.url!,
        WORKER_POLL_MS: '50',
      }),
      api: false,
      worker: true,
      database: t.database,
    });
  }

  /** A worker claims the SMS with a short lease and dies; `reachedTwilio` says whether its request got out. */
  async function dieMidSend(userId: string, phone: string, reachedTwilio: boolean) {
    const user = await smsUser(t.database.db, userId, phone);
    const id = await notify(api, userId);
    const [job] = await claimDue(t.database.db, [{ channel: 'sms', limit: 1 }], 'worker-that-dies', 200);
    assert.ok(job);
    if (reachedTwilio) {
      const sms = await composeSms(api.templates, DEFAULT_SMS_PRICES, {
        type: 'order_confirmed',
        to: phone,
        user: { ...user },
        context: getNotificationType('order_confirmed')!.sampleContext,
      });
      const sent = await api.sms.service.sendSms(phone, sms.body, id);
      assert.ok(sent.success);
    }
    return id;
  }

  const toNumber = (phone: string) => api.sms.sandbox!.messages().filter((m) => m.to === phone);

  test('a send that reached Twilio before the worker died is adopted, not sent again', async () => {
    const phone = '+919876500201';
    const id = adoptedId;
    const d = await waitFor(async () => {
      const row = await smsDelivery(t.database.db, id);
      return row.status === 'sent' || row.status === 'delivered' ? row : undefined;
    });
    assert.equal((d.details as Record<string, unknown>)['reconciled'], true);
    assert.equal(d.providerMessageId, toNumber(phone)[0]!.sid);
    assert.equal(toNumber(phone).length, 1, 'exactly one SMS at the provider');
  });

  test('a send that never left is sent once after the lease expires', async () => {
    const phone = '+919876500202';
    const id = resentId;
    const d = await waitFor(async () => {
      const row = await smsDelivery(t.database.db, id);
      return row.status === 'sent' || row.status === 'delivered' ? row : undefined;
    });
    assert.notEqual((d.details as Record<string, unknown>)['reconciled'], true);
    assert.equal(d.attempts, 2);
    assert.equal(toNumber(phone).length, 1);
  });
});

describe(`an SMS request that got no answer (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const phone = '+919876500203';
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, { SMS_REQUEST_TIMEOUT_MS: '300' });
    // The sandbox creates the message and never answers: the client times out not knowing it sent.
    app.sms.sandbox!.setFaults({ byNumber: { [phone]: { rateHang: 1 } } });
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  test('is not sent again on retry: the retry finds the message and adopts it', async () => {
    await smsUser(t.database.db, 'timeout-user', phone);
    const id = await notify(app, 'timeout-user');
    const d = await waitFor(async () => {
      const row = await smsDelivery(t.database.db, id);
      return row.status === 'sent' || row.status === 'delivered' ? row : undefined;
    });
    const details = d.details as Record<string, unknown>;
    assert.equal(details['reconciled'], true);
    assert.equal(details['outcome_unknown'], false);
    assert.equal(d.attempts, 2, 'one attempt timed out, the next adopted its message');
    const sent = app.sms.sandbox!.messages().filter((m) => m.to === phone);
    assert.equal(sent.length, 1, 'exactly one SMS at the provider');
    assert.equal(d.providerMessageId, sent[0]!.sid);
  });
});
