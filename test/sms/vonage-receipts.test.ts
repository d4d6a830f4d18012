import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  parseVonageInbound,
  parseVonageReceipt,
  VONAGE_PROVIDER_STATUS,
  VonageWebhookError,
  type VonageWebhookOptions,
  type VonageWebhookRefusal,
} from '../../src/channels/sms/vonage/vonage-receipts.ts';
import { VonageService } from '../../src/channels/sms/vonage/vonage-service.ts';
import { TestClock } from '../../src/clock.ts';
import { PROVIDER_STATUS_RANK } from '../../src/deliveries/apply-provider-statuses.ts';
import { startTwilioSandbox, type TwilioSandbox } from '../../src/sandbox/server.ts';
import { startWebhookReceiver, waitFor } from '../sandbox/helpers.ts';

const TO = '+14155552671';

function options(sandbox: TwilioSandbox, clock = new TestClock()): VonageWebhookOptions {
  return {
    signatureSecret: sandbox.vonage.signatureSecret,
    signatureMethod: sandbox.vonage.signatureAlgorithm,
    clock,
  };
}

function send(sandbox: TwilioSandbox, receiptUrl: string, text = 'Your order is ready') {
  return new VonageService({
    apiKey: sandbox.vonage.apiKey,
    apiSecret: sandbox.vonage.apiSecret,
    from: 'Laundry',
    restHost: sandbox.url,
    timeoutMs: 5_000,
    receiptUrl: () => receiptUrl,
  }).sendSms(TO, text, { clientRef: 'dlv_7' });
}

function refusal(fn: () => unknown): VonageWebhookRefusal {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof VonageWebhookError, String(err));
    assert.equal(err.status, 403);
    return err.reason;
  }
  assert.fail('expected the webhook to be refused');
}

test('signed receipts verify and map accepted → sent, delivered → delivered, with our client ref', async (t) => {
  const receiver = await startWebhookReceiver();
  const sandbox = await startTwilioSandbox({ stepMs: 20 });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const sent = await send(sandbox, `${receiver.url}/dlr`);
  assert.ok(sent.success);
  await waitFor('the delivered receipt', () =>
    receiver.received.some((r) => r.params.status === 'delivered'),
  );

  const receipts = receiver.received.map((r) => parseVonageReceipt(r.params, options(sandbox)));
  assert.deepEqual(
    receipts.map((r) => [r.vonageStatus, r.providerStatus, r.messageId, r.clientRef, r.errorCode]),
    [
      ['accepted', 'sent', sent.message_ids[0], 'dlv_7', null],
      ['delivered', 'delivered', sent.message_ids[0], 'dlv_7', null],
    ],
  );
  assert.equal(receipts[1]?.to, TO);
  assert.equal(receipts[1]?.price, sent.price);

  // A GET receipt carries the same parameters in its query.
  const query = new URLSearchParams(receiver.received[1]!.params);
  assert.equal(parseVonageReceipt(Object.fromEntries(query), options(sandbox)).providerStatus, 'delivered');
});

test('a failed walk maps to undelivered with the receipt err-code, one receipt per part (sha256hmac)', async (t) => {
  const receiver = await startWebhookReceiver();
  const sandbox = await startTwilioSandbox({
    stepMs: 5,
    vonage: { signatureAlgorithm: 'sha256hmac' },
    faults: { provider: 'vonage', finalStatus: 'undelivered', vonageErrCode: 2 },
  });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const sent = await send(sandbox, `${receiver.url}/dlr`, 'x'.repeat(200));
  assert.ok(sent.success);
  await waitFor(
    'both failed receipts',
    () => receiver.received.filter((r) => r.params.status === 'failed').length === 2,
  );

  const failed = receiver.received
    .map((r) => parseVonageReceipt(r.params, options(sandbox)))
    .filter((r) => r.vonageStatus === 'failed');
  assert.deepEqual(failed.map((r) => r.messageId).sort(), [...sent.message_ids].sort());
  for (const r of failed) {
    assert.deepEqual(
      [r.providerStatus, r.errorCode, r.errCode, r.errorClass, r.errorMessage],
      [
        'undelivered',
        'VONAGE_DLR_2',
        2,
        'retryable',
        'Vonage receipt error 2: Absent subscriber (temporary): handset off or out of coverage',
      ],
    );
  }
});

test('a carrier rejection maps to failed with a permanent code', async (t) => {
  const receiver = await startWebhookReceiver();
  const sandbox = await startTwilioSandbox({
    stepMs: 5,
    faults: { provider: 'vonage', finalStatus: 'failed', vonageErrCode: 52 },
  });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  assert.ok((await send(sandbox, `${receiver.url}/dlr`)).success);
  await waitFor('the rejected receipt', () => receiver.received.some((r) => r.params.status === 'rejected'));
  const rejected = parseVonageReceipt(receiver.received.at(-1)!.params, options(sandbox));
  assert.deepEqual(
    [rejected.providerStatus, rejected.errorCode, rejected.errorClass],
    ['failed', 'VONAGE_DLR_52', 'permanent'],
  );
});

test('tampered, unsigned, wrongly keyed and stale receipts are refused', async (t) => {
  const receiver = await startWebhookReceiver();
  const sandbox = await startTwilioSandbox({ stepMs: 20 });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  assert.ok((await send(sandbox, `${receiver.url}/dlr`)).success);
  await waitFor('a receipt', () => receiver.received.length > 0);
  const receipt = receiver.received[0]!.params;
  const opts = options(sandbox);
  assert.equal(parseVonageReceipt(receipt, opts).providerStatus, 'sent', 'the untouched receipt passes');

  assert.equal(
    refusal(() => parseVonageReceipt({ ...receipt, status: 'delivered' }, opts)),
    'forged',
  );
  const { sig: _sig, ...unsigned } = receipt;
  assert.equal(
    refusal(() => parseVonageReceipt(unsigned, opts)),
    'unsigned',
  );
  assert.equal(
    refusal(() => parseVonageReceipt({ ...receipt, price: 0 }, opts)),
    'forged',
  );
  assert.equal(
    refusal(() => parseVonageReceipt(receipt, { ...opts, signatureSecret: 'another-secret' })),
    'forged',
  );
  assert.equal(
    refusal(() => parseVonageReceipt(receipt, { ...opts, signatureMethod: 'sha1hmac' })),
    'forged',
  );

  const later = new TestClock(opts.clock.now());
  later.advance(5 * 60_000 + 2_000);
  assert.equal(
    refusal(() => parseVonageReceipt(receipt, { ...opts, clock: later })),
    'stale',
  );
  assert.equal(
    parseVonageReceipt(receipt, { ...opts, clock: later, maxSkewMs: 10 * 60_000 }).providerStatus,
    'sent',
    'the bound is injectable',
  );
  const early = new TestClock(opts.clock.now() - 6 * 60_000);
  assert.equal(
    refusal(() => parseVonageReceipt(receipt, { ...opts, clock: early })),
    'stale',
  );
});

test('every Vonage receipt status maps to a ranked provider status, so a late one cannot move a delivery back', () => {
  const rank = (s: string) => PROVIDER_STATUS_RANK[s];
  const mapped: Record<string, string> = VONAGE_PROVIDER_STATUS;
  assert.deepEqual(Object.keys(mapped).sort(), [
    'accepted',
    'buffered',
    'delivered',
    'expired',
    'failed',
    'rejected',
    'unknown',
  ]);
  for (const ours of Object.values(mapped)) assert.notEqual(rank(ours), undefined, ours);
  // What ranks below a final status is ignored after it (apply-provider-statuses.ts).
  for (const late of ['accepted', 'buffered', 'unknown'])
    for (const final of ['delivered', 'expired', 'failed', 'rejected'])
      assert.ok(rank(mapped[late]!)! < rank(mapped[final]!)!, `${late} after ${final}`);
});

test('inbound SMS parse to sender, our number, text and keyword; a tampered one is refused', async (t) => {
  const receiver = await startWebhookReceiver();
  const sandbox = await startTwilioSandbox({ vonage: { inboundUrl: `${receiver.url}/inbound` } });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  await sandbox.sendVonageInbound({ from: '+919876543210', to: '+14155550100', text: 'stop please' });
  await sandbox.sendVonageInbound({ from: '+919876543210', to: '+14155550100', text: 'रोकें ₹' });

  const [stop, hindi] = receiver.received.map((r) => parseVonageInbound(r.params, options(sandbox)));
  assert.deepEqual(
    [stop?.from, stop?.to, stop?.text, stop?.keyword],
    ['+919876543210', '+14155550100', 'stop please', 'STOP'],
  );
  assert.equal(stop?.messageId, receiver.received[0]?.params.messageId);
  assert.deepEqual([hindi?.text, hindi?.keyword], ['रोकें ₹', 'रोकें']);
  const tampered = { ...receiver.received[0]!.params, text: 'START' };
  assert.equal(
    refusal(() => parseVonageInbound(tampered, options(sandbox))),
    'forged',
  );
});
