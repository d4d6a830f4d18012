import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asc, eq, inArray, sql } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { VonageService } from '../../src/channels/sms/vonage/vonage-service.ts';
import { queryRows } from '../../src/db/database.ts';
import { deliveries, deliveryStatusHistory, earlyProviderStatuses } from '../../src/db/schema.ts';
import { completeBatch } from '../../src/deliveries/complete.ts';
import type { FaultConfig } from '../../src/sandbox/server.ts';
import { signed } from '../../src/sandbox/vonage/signature.ts';
import { receiptProviderId } from '../../src/tracking/vonage-receipt-callback.ts';
import { CuttableLink } from '../helpers/cuttable-link.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const OWNER = 'w-vonage-test';

describe(`Vonage delivery receipts through the real route (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  /** Between the sandbox and the app's receipt route: stalled, it holds receipts until released. */
  let link: CuttableLink;
  let vonage: VonageService;
  before(async () => {
    t = await createTestDatabase();
    // A retried delivery waits an hour: the worker must not take it back while the test looks.
    app = await startSmsApp(t, { SMS_RETRY_DELAY_MS: '3600000' });
    link = new CuttableLink({ host: '127.0.0.1', port: Number(new URL(app.url!).port) });
    await link.open();
    const { apiKey, apiSecret } = app.sms.sandbox!.vonage;
    vonage = new VonageService({
      apiKey,
      apiSecret,
      from: 'LNDRYC',
      restHost: app.sms.sandbox!.url,
      timeoutMs: 5000,
      receiptUrl: () => `http://127.0.0.1:${link.port}${app.config.VONAGE_RECEIPT_PATH}`,
    });
  });
  after(async () => {
    await link?.cut();
    await app?.close();
    await t?.close();
  });
  const db = () => t.database.db;
  const sandbox = () => app.sms.sandbox!;
  const receiptUrl = () => app.url + app.config.VONAGE_RECEIPT_PATH;

  /** A delivery the worker holds: claimed, sending, its outcome not written yet. */
  async function leasedDelivery(key: string, phone: string): Promise<number> {
    const user = await smsUser(db(), `vr-${key}`, phone);
    const [row] = await queryRows<{ id: string }>(
      db(),
      sql`with n as (
        insert into notifications (notification_id, user_id, type, category, priority, title, message)
        values (${`ntf_vr_${key}`}, ${user.id}, 'order_confirmed', 'order_updates', 'critical', 't', 'm')
        returning id)
      insert into deliveries (notification_id, channel, status, attempts, max_attempts, lease_owner, lease_expires_at)
      select id, 'sms', 'sending', 1, 4, ${OWNER}, now() + interval '1 minute' from n returning id`,
    );
    return Number(row!.id);
  }

  /** What the worker writes once Vonage took the SMS: the first part's id, every part's in metadata. */
  function writeSent(id: number, ids: string[], to: string) {
    return completeBatch(db(), OWNER, [
      {
        id: String(id),
        event: 'send_ok',
        providerMessageId: ids[0]!,
        providerStatus: 'queued',
        metadata: { sms: { sent: true, provider: 'vonage', message_ids: ids, status: 'queued', to } },
      },
    ]);
  }

  /** The sandbox owes nothing more: every step walked, every receipt answered. */
  const sandboxIdle = () =>
    waitFor(
      async () => {
        const s = sandbox().stats();
        return s.pendingSteps === 0 && s.callbacksInFlight === 0;
      },
      15_000,
      'the sandbox to finish its walks and receipts',
    );

  /**
   * A real send through the SDK to the sandbox with the delivery's id as `client-ref`; the receipts
   * are held until the worker's write is in, so they find the delivery as they would in production.
   */
  async function sendAndWrite(key: string, phone: string, text = 'Your order LC1 is ready for pickup') {
    const id = await leasedDelivery(key, phone);
    link.stall();
    try {
      const sent = await vonage.sendSms(phone, text, { clientRef: String(id) });
      assert.ok(sent.success, JSON.stringify(sent));
      await writeSent(id, sent.message_ids, phone);
      return { id, ids: sent.message_ids };
    } finally {
      link.resume();
    }
  }

  const delivery = async (id: number) =>
    (await db().select().from(deliveries).where(eq(deliveries.id, id)))[0]!;
  const history = (id: number) =>
    db()
      .select()
      .from(deliveryStatusHistory)
      .where(eq(deliveryStatusHistory.deliveryId, id))
      .orderBy(asc(deliveryStatusHistory.id));
  const waitForStatus = (id: number, status: string) =>
    waitFor(async () => ((await delivery(id)).status === status ? delivery(id) : undefined), 15_000, status);

  async function withFaults<T>(faults: FaultConfig, run: () => Promise<T>): Promise<T> {
    const saved = sandbox().faults();
    sandbox().setFaults(faults);
    try {
      return await run();
    } finally {
      sandbox().setFaults(saved);
    }
  }

  test('receipts of a real send end the delivery delivered, with its history', async () => {
    const refused = sandbox().stats().callbacksFailed;
    const { id, ids } = await sendAndWrite('ok', '+919876533301');
    const d = await waitForStatus(id, 'delivered');
    assert.equal(d.providerMessageId, ids[0]);
    assert.equal(d.providerStatus, 'delivered');
    assert.ok(d.deliveredAt);
    assert.equal((d.metadata['sms'] as { status: string }).status, 'delivered');
    await sandboxIdle();
    assert.equal(sandbox().stats().callbacksFailed, refused, 'no receipt was refused');
    // The two receipts may reach the app in either order (two connections): both are in the history.
    const rows = (await history(id)).map((h) => [h.fromStatus, h.toStatus, h.providerStatus].join(' '));
    assert.equal(rows[0], 'sending sent queued');
    assert.ok(rows.includes('sent delivered delivered'), rows.join(', '));
    assert.ok(
      rows.some((r) => r.endsWith(' sent')),
      rows.join(', '),
    );
  });

  test('a permanent receipt err-code fails the delivery with VONAGE_DLR_<n> and its text', async () => {
    const phone = '+919876533302';
    await withFaults(
      { byNumber: { [phone]: { provider: 'vonage', finalStatus: 'undelivered', vonageErrCode: 3 } } },
      async () => {
        const { id } = await sendAndWrite('perm', phone);
        const d = await waitForStatus(id, 'failed');
        assert.equal(d.errorCode, 'VONAGE_DLR_3');
        assert.equal(
          d.errorMessage,
          'Vonage receipt error 3: Absent subscriber (permanent): the number is not in use',
        );
        assert.equal(d.providerStatus, 'undelivered');
        assert.ok(d.failedAt);
        assert.equal((d.metadata['sms'] as { error_code: unknown }).error_code, 'VONAGE_DLR_3');
        const failing = (await history(id)).find((h) => h.toStatus === 'failed' && h.fromStatus === 'sent');
        assert.deepEqual([failing?.providerStatus, failing?.errorCode], ['undelivered', 'VONAGE_DLR_3']);
        await sandboxIdle();
      },
    );
  });

  test('a retryable receipt err-code puts the delivery back in the queue for later', async () => {
    const phone = '+919876533303';
    await withFaults(
      { byNumber: { [phone]: { provider: 'vonage', finalStatus: 'undelivered', vonageErrCode: 2 } } },
      async () => {
        const { id } = await sendAndWrite('retry', phone);
        const d = await waitForStatus(id, 'queued');
        assert.equal(d.errorCode, 'VONAGE_DLR_2');
        assert.match(d.errorMessage!, /^Vonage receipt error 2: Absent subscriber \(temporary\)/);
        assert.ok(d.nextAttemptAt && d.nextAttemptAt.getTime() > Date.now() + 30 * 60_000, 'due in an hour');
        assert.equal(d.failedAt, null);
        await sandboxIdle();
      },
    );
  });

  test('duplicate and out-of-order receipts do not move the delivery back', async () => {
    const phone = '+919876533304';
    await withFaults(
      { byNumber: { [phone]: { provider: 'vonage', duplicateCallbacks: true, reorderCallbacks: true } } },
      async () => {
        const { id } = await sendAndWrite('order', phone);
        await waitForStatus(id, 'delivered');
        await sandboxIdle();
        const d = await delivery(id);
        assert.deepEqual([d.status, d.providerStatus], ['delivered', 'delivered']);
        const rows = await history(id);
        assert.equal(rows.filter((h) => h.toStatus === 'delivered' && h.fromStatus === 'sent').length, 1);
        // Whatever came after `delivered` (a late `accepted`, a repeat) was recorded, not applied.
        const after = rows.slice(rows.findIndex((h) => h.toStatus === 'delivered'));
        assert.ok(
          after.every((h) => h.toStatus === 'delivered'),
          JSON.stringify(after),
        );
      },
    );
  });

  test("every part's receipt of a long message maps to the delivery (first part's id)", async () => {
    const refused = sandbox().stats().callbacksFailed;
    const long = 'Your LaundryConnect order LC240117 is ready. '.repeat(9);
    const { id, ids } = await sendAndWrite('long', '+919876533305', long);
    assert.ok(ids.length >= 3, `split in parts: ${ids.length}`);
    await waitForStatus(id, 'delivered');
    await sandboxIdle();
    assert.equal(sandbox().stats().callbacksFailed, refused, 'no receipt was refused');
    // Had any part's receipt kept its own id, it would wait here for a delivery that never comes.
    const parked = await db()
      .select()
      .from(earlyProviderStatuses)
      .where(inArray(earlyProviderStatuses.providerMessageId, ids));
    assert.deepEqual(parked, []);
    for (const part of ids) {
      assert.equal(await receiptProviderId(db(), { messageId: part, clientRef: String(id) }), ids[0]);
    }
  });

  test("receipts that beat the worker's write are kept and applied when it comes", async () => {
    const phone = '+919876533306';
    const id = await leasedDelivery('race', phone);
    const sent = await vonage.sendSms(phone, 'Picked up', { clientRef: String(id) });
    assert.ok(sent.success);
    await sandboxIdle();
    assert.equal((await delivery(id)).status, 'sending', 'nothing applied before the write');
    await writeSent(id, sent.message_ids, phone);
    const d = await delivery(id);
    assert.deepEqual([d.status, d.providerStatus], ['delivered', 'delivered']);
  });

  describe('refused receipts', () => {
    /** A delivery in `sent`, as the worker leaves it, with a provider id the test picks. */
    async function sentDelivery(key: string, messageId: string) {
      const id = await leasedDelivery(key, '+919876533310');
      await writeSent(id, [messageId], '+919876533310');
      return id;
    }
    const account = () => app.sms.sandbox!.vonage;
    const receipt = (messageId: string, id: number, status = 'delivered') => ({
      msisdn: '919876533310',
      to: 'LNDRYC',
      'network-code': '40410',
      messageId,
      price: '0.00500000',
      status,
      scts: '2612031200',
      'err-code': status === 'delivered' ? '0' : '3',
      'api-key': account().apiKey,
      'message-timestamp': '2026-12-03 12:00:00',
      'client-ref': String(id),
    });
    const sign = (params: Record<string, string>, secret = account().signatureSecret, now = Date.now()) =>
      signed(params, secret, account().signatureAlgorithm, now);
    const postJson = (body: unknown) =>
      fetch(receiptUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const get = (params: Record<string, string>) => fetch(`${receiptUrl()}?${new URLSearchParams(params)}`);

    test('forged, unsigned, stale or mistyped receipts get 403 SIGNATURE_INVALID and change nothing', async () => {
      const messageId = '0A00000000000001';
      const id = await sentDelivery('forged', messageId);
      const before = await history(id);
      const good = sign(receipt(messageId, id));
      const { sig: _sig, ...unsigned } = good;
      const attempts = {
        tampered: await postJson({ ...good, status: 'failed', 'err-code': '3' }),
        'wrong secret': await postJson(sign(receipt(messageId, id), 'not-the-secret')),
        unsigned: await postJson(unsigned),
        stale: await postJson(sign(receipt(messageId, id), undefined, Date.now() - 10 * 60_000)),
        'not a string': await postJson({ ...good, price: 0.005 }),
        'forged GET': await get({ ...good, status: 'rejected' }),
        'empty body': await postJson({}),
      };
      for (const [what, res] of Object.entries(attempts)) {
        assert.equal(res.status, 403, what);
        assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/, what);
        const body = (await res.json()) as { code: string; status: number };
        assert.deepEqual([body.code, body.status], ['SIGNATURE_INVALID', 403], what);
      }
      const d = await delivery(id);
      assert.deepEqual([d.status, d.providerStatus, d.errorCode], ['sent', 'queued', null]);
      assert.deepEqual(await history(id), before);
    });

    test('a signed receipt is taken as a GET query too; an unknown message id gets 200', async () => {
      const messageId = '0A00000000000002';
      const id = await sentDelivery('get', messageId);
      const res = await get(sign(receipt(messageId, id)));
      assert.equal(res.status, 200);
      assert.equal((await delivery(id)).status, 'delivered');

      const unknown = await postJson(sign(receipt('0A0000000000FFFF', 999_999)));
      assert.equal(unknown.status, 200);
    });
  });
});
