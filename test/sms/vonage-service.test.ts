import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { DEFAULT_SMS_PRICES, estimateSmsCost } from '../../src/channels/sms/cost.ts';
import { classifyOutcome } from '../../src/channels/sms/routing/provider-answer.ts';
import {
  readParts,
  type VonageSendResult,
  VonageService,
} from '../../src/channels/sms/vonage/vonage-service.ts';
import { startTwilioSandbox, type TwilioSandbox } from '../../src/sandbox/server.ts';

const US = '+14155552671';
const IN = '+919876543210';

function service(sandbox: TwilioSandbox, overrides: { apiSecret?: string; timeoutMs?: number } = {}) {
  return new VonageService({
    apiKey: sandbox.vonage.apiKey,
    apiSecret: overrides.apiSecret ?? sandbox.vonage.apiSecret,
    from: 'Laundry',
    restHost: sandbox.url,
    timeoutMs: overrides.timeoutMs ?? 5_000,
    receiptUrl: () => 'http://127.0.0.1:9/webhooks/vonage/receipt',
  });
}

const partPrice = (to: string) => estimateSmsCost(to, 1, DEFAULT_SMS_PRICES).amount;

function accepted(result: VonageSendResult) {
  assert.ok(result.success, `sent: ${result.success ? '' : result.error}`);
  return result;
}

/** The secret, and the Basic credentials the SDK built from it, appear nowhere in a result. */
function assertNoSecret(sandbox: TwilioSandbox, result: VonageSendResult, secret = sandbox.vonage.apiSecret) {
  const text = JSON.stringify(result);
  const basic = Buffer.from(`${sandbox.vonage.apiKey}:${secret}`).toString('base64');
  assert.ok(!text.includes(secret) && !text.includes(basic), `no secret in ${text}`);
}

test('a GSM-7 text goes as type text: parts, their ids, summed price, network and our client ref', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  t.after(() => sandbox.close());
  const result = accepted(await service(sandbox).sendSms(US, 'x'.repeat(200), { clientRef: 'dlv_42' }));

  assert.deepEqual(result.answer, { result: 'accepted' });
  assert.equal(result.num_parts, 2);
  const stored = sandbox.messages()[0]!;
  assert.deepEqual(result.message_ids, stored.vonage?.messageIds);
  assert.equal(result.price, (partPrice(US) * 2).toFixed(8));
  assert.equal(result.network, '310260');
  assert.equal(result.client_ref, 'dlv_42');
  assert.equal(result.partial_failure, null);
  assert.equal(stored.params.type ?? 'text', 'text');
  assert.deepEqual(
    [stored.params['client-ref'], stored.params.callback, stored.params.from],
    ['dlv_42', 'http://127.0.0.1:9/webhooks/vonage/receipt', 'Laundry'],
  );
});

test('Hindi and ₹ go as type unicode and arrive intact, counted in UCS-2 parts', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  t.after(() => sandbox.close());
  const text = 'आपका ऑर्डर तैयार है। कुल ₹499 — धन्यवाद! '.repeat(2);
  const result = accepted(await service(sandbox).sendSms(IN, text));

  const stored = sandbox.messages()[0]!;
  assert.equal(stored.params.type, 'unicode');
  assert.equal(stored.body, text);
  assert.equal(result.num_parts, 2);
  assert.equal(result.message_ids.length, 2);
  assert.equal(result.price, (partPrice(IN) * 2).toFixed(8));
  assert.equal(result.network, '40410');
});

test("India's DLT entity and content ids reach Vonage's request", async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  t.after(() => sandbox.close());
  accepted(
    await service(sandbox).sendSms(IN, 'Your order is ready', {
      entityId: '1101456789012345678',
      contentId: '1107161234567890123',
    }),
  );
  const stored = sandbox.messages()[0]!;
  assert.deepEqual(
    [stored.vonage?.entityId, stored.vonage?.contentId],
    ['1101456789012345678', '1107161234567890123'],
  );

  accepted(await service(sandbox).sendSms(IN, 'No DLT here'));
  assert.deepEqual(
    [sandbox.messages()[0]?.vonage?.entityId, sandbox.messages()[0]?.vonage?.contentId],
    [null, null],
  );
});

test('refusals map by Vonage status, with its error-text kept: bad credentials, throttled, barred', async (t) => {
  const BARRED = '+14155552672';
  const sandbox = await startTwilioSandbox({
    stepMs: 60_000,
    faults: {
      provider: 'vonage',
      vonageStatus: 1,
      byNumber: { [BARRED]: { provider: 'vonage', vonageStatus: 7 } },
    },
  });
  t.after(() => sandbox.close());

  const badAuth = await service(sandbox, { apiSecret: 'WrongSecret99' }).sendSms(US, 'hi');
  assert.ok(!badAuth.success);
  assert.deepEqual(badAuth.answer, { result: 'refused', refusal: 'auth' });
  assert.deepEqual(
    [badAuth.error_code, badAuth.vonage_status, badAuth.classification, badAuth.error],
    ['VONAGE_4', 4, 'permanent', 'Vonage status 4: Bad Credentials'],
  );
  assertNoSecret(sandbox, badAuth, 'WrongSecret99');

  const throttled = await service(sandbox).sendSms(US, 'hi');
  assert.ok(!throttled.success);
  assert.deepEqual(throttled.answer, { result: 'refused', refusal: 'throttled' });
  assert.deepEqual([throttled.error_code, throttled.classification], ['VONAGE_1', 'retryable']);
  assert.equal(classifyOutcome(throttled.answer), 'known-refusal');

  const barred = await service(sandbox).sendSms(BARRED, 'hi');
  assert.ok(!barred.success);
  assert.deepEqual(barred.answer, { result: 'refused', refusal: 'recipient' });
  assert.equal(classifyOutcome(barred.answer), 'permanent-recipient');
  assert.equal(barred.error_code, 'VONAGE_7');
  assert.equal(sandbox.messages().length, 0, 'nothing was sent');
});

test('an invalid number is refused as the recipient before any request', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  t.after(() => sandbox.close());
  const result = await service(sandbox).sendSms('+1555', 'hi');
  assert.ok(!result.success);
  assert.deepEqual(result.answer, { result: 'refused', refusal: 'recipient' });
  assert.equal(result.classification, 'permanent');
  assert.equal(sandbox.stats().created + Object.keys(sandbox.stats().rejected).length, 0);
});

test('HTTP 429 is throttled, a 5xx is a server error: neither tells whether it sent', async (t) => {
  const SLOW_DOWN = '+14155552673';
  const sandbox = await startTwilioSandbox({
    stepMs: 60_000,
    faults: { provider: 'vonage', rate5xx: 1, byNumber: { [SLOW_DOWN]: { provider: 'vonage', rate429: 1 } } },
  });
  t.after(() => sandbox.close());

  const failed = await service(sandbox).sendSms(US, 'hi');
  assert.ok(!failed.success);
  assert.deepEqual(failed.answer, { result: 'server-error' });
  assert.ok(failed.http_status === 500 || failed.http_status === 503, String(failed.http_status));
  assert.deepEqual([failed.error_code, failed.classification], [null, 'retryable']);
  assert.equal(classifyOutcome(failed.answer), 'unknown');
  assertNoSecret(sandbox, failed);

  const limited = await service(sandbox).sendSms(SLOW_DOWN, 'hi');
  assert.ok(!limited.success);
  assert.deepEqual([limited.answer, limited.http_status], [{ result: 'refused', refusal: 'throttled' }, 429]);
});

test('a request that hangs past the timeout is no answer; the message may have been sent', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000, faults: { provider: 'vonage', rateHang: 1 } });
  t.after(() => sandbox.close());
  const result = await service(sandbox, { timeoutMs: 300 }).sendSms(US, 'hi');
  assert.ok(!result.success);
  assert.deepEqual(result.answer, { result: 'no-answer' });
  assert.deepEqual(
    [result.error, result.http_status, result.classification],
    ['Vonage request timed out', null, 'retryable'],
  );
  assert.equal(sandbox.stats().hung, 1, 'the sandbox took it: a resend elsewhere would be a double');
  assertNoSecret(sandbox, result);
});

test('a refused connection is not reached: nothing was sent', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  t.after(() => sandbox.close());
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  const result = await new VonageService({
    ...sandbox.vonage,
    from: 'Laundry',
    restHost: `http://127.0.0.1:${port}`,
    timeoutMs: 5_000,
    receiptUrl: () => undefined,
  }).sendSms(US, 'hi');
  assert.ok(!result.success);
  assert.deepEqual(result.answer, { result: 'not-reached' });
  assert.equal(result.error, 'Vonage request failed: ECONNREFUSED');
  assert.equal(classifyOutcome(result.answer), 'known-refusal');
  assertNoSecret(sandbox, result);
});

test('parts partly taken count as sent (resending would deliver them twice), the refusal kept', () => {
  const part = (status: string, id?: string) => ({
    to: '14155552671',
    status,
    ...(id ? { messageId: id, messagePrice: '0.00830000', remainingBalance: '9.9', network: '310260' } : {}),
    ...(status === '0' ? {} : { errorText: 'Throttled' }),
  });
  const result = readParts(
    [part('0', 'A1'), part('1')] as unknown as Parameters<typeof readParts>[0],
    US,
    null,
  );
  assert.ok(result.success);
  assert.deepEqual([result.message_ids, result.num_parts, result.price], [['A1'], 2, '0.00830000']);
  assert.equal(result.partial_failure, '1 of 2 parts refused: Vonage status 1: Throttled');

  const none = readParts([], US, null);
  assert.ok(!none.success);
  assert.deepEqual(none.answer, { result: 'server-error' });
});
