import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlgorithmTypes } from '@vonage/auth';
import { startTwilioSandbox } from '../../src/sandbox/server.ts';
import { startWebhookReceiver, vonageClient, waitFor } from './helpers.ts';

const TO = '15551238001';
const RECEIPT_FIELDS = [
  'api-key',
  'err-code',
  'message-timestamp',
  'messageId',
  'msisdn',
  'network-code',
  'nonce',
  'price',
  'scts',
  'sig',
  'status',
  'timestamp',
  'to',
];

test('signed receipts walk accepted → delivered, verified by the SDK with the signature secret', async (t) => {
  const receiver = await startWebhookReceiver();
  const sandbox = await startTwilioSandbox({ stepMs: 20 });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const sms = vonageClient(sandbox);
  const sent = await sms.send({ from: 'Laundry', to: TO, text: 'Ready', callback: `${receiver.url}/dlr` });
  const messageId = sent.messages[0]?.messageId;
  await waitFor('the delivered receipt', () =>
    receiver.received.some((r) => r.params.status === 'delivered'),
  );

  const receipts = receiver.received.map((r) => r.params);
  assert.deepEqual(
    receipts.map((r) => r.status),
    ['accepted', 'delivered'],
  );
  const { signatureSecret } = sandbox.vonage;
  for (const r of receipts) {
    assert.deepEqual(Object.keys(r).sort(), RECEIPT_FIELDS);
    assert.deepEqual([r.messageId, r.msisdn, r.to, r['err-code']], [messageId, TO, 'Laundry', '0']);
    assert.ok(sms.verifySignature(r.sig!, r, signatureSecret, AlgorithmTypes.md5hash), 'signature verifies');
    assert.ok(
      !sms.verifySignature(r.sig!, { ...r, status: 'failed' }, signatureSecret, AlgorithmTypes.md5hash),
    );
  }
  assert.match(receipts[1]!['message-timestamp']!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.match(receipts[1]!.scts!, /^\d{10}$/);
});

test('a final failure ends in a failed receipt with the configured err-code, one per part', async (t) => {
  const receiver = await startWebhookReceiver();
  const sandbox = await startTwilioSandbox({
    stepMs: 5,
    vonage: { signatureAlgorithm: 'sha256hmac', receiptUrl: `${receiver.url}/dlr` },
    faults: { provider: 'vonage', finalStatus: 'undelivered', vonageErrCode: 3 },
  });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const sms = vonageClient(sandbox);
  const sent = await sms.send({ from: 'Laundry', to: TO, text: 'x'.repeat(200) });
  assert.equal(sent.messageCount, '2');
  await waitFor(
    'both failed receipts',
    () => receiver.received.filter((r) => r.params.status === 'failed').length === 2,
  );

  const failed = receiver.received.map((r) => r.params).filter((r) => r.status === 'failed');
  assert.deepEqual(failed.map((r) => r.messageId).sort(), sent.messages.map((m) => m.messageId).sort());
  for (const r of failed) {
    assert.equal(r['err-code'], '3');
    assert.ok(sms.verifySignature(r.sig!, r, sandbox.vonage.signatureSecret, AlgorithmTypes.sha256hmac));
  }
  const stored = sandbox.messages()[0]!;
  assert.deepEqual([stored.errorCode, stored.errorMessage], [3, 'Absent Subscriber - Permanent']);
});

test('an injected inbound SMS reaches the inbound URL signed, with its keyword and type', async (t) => {
  const receiver = await startWebhookReceiver();
  const sandbox = await startTwilioSandbox({ vonage: { inboundUrl: `${receiver.url}/inbound` } });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const inject = (body: unknown) =>
    fetch(`${sandbox.url}/sandbox/vonage/inbound`, { method: 'POST', body: JSON.stringify(body) });
  const res = await inject({ from: '+919876543210', to: '+15557650000', text: 'stop please' });
  assert.equal(res.status, 200);
  const res2 = await inject({
    from: '+919876543210',
    to: '+15557650000',
    text: 'रोकें ₹',
    url: `${receiver.url}/other`,
  });
  assert.equal(res2.status, 200);

  const [stop, hindi] = receiver.received;
  assert.equal(stop?.url, `${receiver.url}/inbound`);
  assert.deepEqual(
    [stop?.params.msisdn, stop?.params.to, stop?.params.text, stop?.params.keyword, stop?.params.type],
    ['919876543210', '15557650000', 'stop please', 'STOP', 'text'],
  );
  assert.deepEqual([hindi?.url, hindi?.params.type], [`${receiver.url}/other`, 'unicode']);
  const sms = vonageClient(sandbox);
  for (const r of [stop!, hindi!]) {
    assert.ok(
      sms.verifySignature(r.params.sig!, r.params, sandbox.vonage.signatureSecret, AlgorithmTypes.md5hash),
    );
  }
  const stored = sandbox.messages().filter((m) => m.direction === 'inbound');
  assert.deepEqual(
    stored.map((m) => [m.provider, m.sid]),
    [
      ['vonage', hindi?.params.messageId],
      ['vonage', stop?.params.messageId],
    ],
  );
  assert.equal((await inject({ from: '+1', to: '+2' })).status, 400);
});
