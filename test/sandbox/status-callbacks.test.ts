import assert from 'node:assert/strict';
import { test } from 'node:test';
import twilio from 'twilio';
import { DEFAULT_SMS_PRICES } from '../../src/channels/sms/cost.ts';
import { startTwilioSandbox } from '../../src/sandbox/server.ts';
import { FROM, type ReceivedWebhook, sdkClient, startWebhookReceiver, TO, waitFor } from './helpers.ts';

function statuses(received: ReceivedWebhook[]): string[] {
  return received.map((r) => r.params.MessageStatus ?? '');
}

test('the signature matches Twilio’s published test vector', () => {
  const signature = twilio.getExpectedTwilioSignature(
    '12345',
    'https://mycompany.com/myapp.php?foo=1&bar=2',
    {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+12349013030',
      Digits: '1234',
      From: '+12349013030',
      To: '+18005551212',
    },
  );
  assert.equal(signature, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
});

test('a message walks sending → sent → delivered with signed callbacks', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 20 });
  const receiver = await startWebhookReceiver();
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const callbackUrl = `${receiver.url}/webhooks/twilio/status?tenant=a`;
  const message = await sdkClient(sandbox).messages.create({
    to: TO,
    from: FROM,
    body: 'Your laundry is ready',
    statusCallback: callbackUrl,
  });

  await waitFor('three callbacks', () => receiver.received.length === 3);
  assert.deepEqual(statuses(receiver.received), ['sending', 'sent', 'delivered']);
  for (const cb of receiver.received) {
    assert.equal(cb.url, callbackUrl);
    assert.ok(twilio.validateRequest(sandbox.authToken, cb.signature, cb.url, cb.params), 'valid signature');
    assert.ok(!twilio.validateRequest('0'.repeat(32), cb.signature, cb.url, cb.params), 'bound to the token');
    assert.equal(cb.params.MessageSid, message.sid);
    assert.equal(cb.params.SmsSid, message.sid);
    assert.equal(cb.params.SmsStatus, cb.params.MessageStatus);
    assert.equal(cb.params.AccountSid, sandbox.accountSid);
    assert.equal(cb.params.ApiVersion, '2010-04-01');
    assert.deepEqual([cb.params.To, cb.params.From], [TO, FROM]);
    assert.equal(cb.params.ErrorCode, undefined);
  }
  assert.match(receiver.received[2]!.params.RawDlrDoneDate ?? '', /^\d{10}$/);

  const fetched = await sdkClient(sandbox).messages(message.sid).fetch();
  assert.equal(fetched.status, 'delivered');
  // TO is a fictional 555 number: no country, so the table's default price.
  assert.equal(fetched.price, (-DEFAULT_SMS_PRICES.default!.perSegment).toFixed(5));
  assert.ok(fetched.dateSent instanceof Date);
  assert.equal(sandbox.stats().callbacksSent, 3);
});

test('an undelivered message reports 30003 in the resource and the final callback', async (t) => {
  const sandbox = await startTwilioSandbox({
    stepMs: 20,
    faults: { byNumber: { '+15005550009': { finalStatus: 'undelivered', errorCode: 30003 } } },
  });
  const receiver = await startWebhookReceiver();
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const client = sdkClient(sandbox);
  const message = await client.messages.create({
    to: '+15005550009',
    from: FROM,
    body: 'x',
    statusCallback: receiver.url,
  });
  await waitFor('the final callback', () => receiver.received.length === 3);
  assert.deepEqual(statuses(receiver.received), ['sending', 'sent', 'undelivered']);
  assert.equal(receiver.received[2]!.params.ErrorCode, '30003');
  const fetched = await client.messages(message.sid).fetch();
  assert.deepEqual([fetched.status, fetched.errorCode], ['undelivered', 30003]);
});

test('the reported price is segments × the service’s per-segment estimate for the country', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 5 });
  t.after(() => sandbox.close());
  const client = sdkClient(sandbox);
  const india = await client.messages.create({ to: '+919876543210', from: FROM, body: 'a'.repeat(161) });
  const us = await client.messages.create({ to: '+14155551234', from: FROM, body: 'ready' });
  const priced = () => sandbox.messages().filter((m) => m.price !== null).length === 2;
  await waitFor('both messages priced', priced);
  const [inPrice, usPrice] = await Promise.all(
    [india, us].map(async (m) => (await client.messages(m.sid).fetch()).price),
  );
  assert.equal(inPrice, (-2 * DEFAULT_SMS_PRICES.IN!.perSegment).toFixed(5));
  assert.equal(usPrice, (-1 * DEFAULT_SMS_PRICES.US!.perSegment).toFixed(5));
});

test('a Messaging Service message reports the pool sender it chose, on the resource and in callbacks', async (t) => {
  const service = `MG${'c'.repeat(32)}`;
  const pool = ['+14155550101', '+14155550102', '+14155550103'];
  const sandbox = await startTwilioSandbox({ stepMs: 5, senderPools: { [service]: pool } });
  const receiver = await startWebhookReceiver();
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const client = sdkClient(sandbox);
  const send = () =>
    client.messages.create({ to: TO, messagingServiceSid: service, body: 'x', statusCallback: receiver.url });
  const [first, second] = [await send(), await send()];
  assert.ok(first.from !== null && pool.includes(first.from), `from ${first.from} is in the pool`);
  assert.equal(second.from, first.from, 'the same recipient keeps its sender');
  await waitFor('six callbacks', () => receiver.received.length === 6);
  assert.deepEqual(new Set(receiver.received.map((r) => r.params.From)), new Set([first.from]));

  const unpooled = await client.messages.create({
    to: TO,
    messagingServiceSid: `MG${'d'.repeat(32)}`,
    body: 'x',
  });
  assert.match(unpooled.from ?? '', /^\+120255501\d{2}$/);
});

test('a failed message skips sent and is not priced', async (t) => {
  const sandbox = await startTwilioSandbox({
    stepMs: 20,
    faults: { finalStatus: 'failed', errorCode: 30007 },
  });
  const receiver = await startWebhookReceiver();
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const message = await sdkClient(sandbox).messages.create({
    to: TO,
    from: FROM,
    body: 'x',
    statusCallback: receiver.url,
  });
  await waitFor('the failed callback', () => receiver.received.length === 2);
  assert.deepEqual(statuses(receiver.received), ['sending', 'failed']);
  assert.equal(receiver.received[1]!.params.ErrorCode, '30007');
  const fetched = await sdkClient(sandbox).messages(message.sid).fetch();
  assert.deepEqual([fetched.status, fetched.price], ['failed', null]);
});

test('duplicate and reordered callbacks model Twilio’s at-least-once, out-of-order delivery', async (t) => {
  const sandbox = await startTwilioSandbox({
    stepMs: 20,
    faults: {
      byNumber: {
        '+15551110001': { duplicateCallbacks: true },
        '+15551110002': { reorderCallbacks: true },
      },
    },
  });
  const receiver = await startWebhookReceiver();
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const client = sdkClient(sandbox);
  const dup = await client.messages.create({
    to: '+15551110001',
    from: FROM,
    body: 'x',
    statusCallback: receiver.url,
  });
  const reordered = await client.messages.create({
    to: '+15551110002',
    from: FROM,
    body: 'y',
    statusCallback: receiver.url,
  });
  const of = (sid: string) => statuses(receiver.received.filter((r) => r.params.MessageSid === sid));

  await waitFor('six duplicated callbacks', () => of(dup.sid).length === 6);
  assert.deepEqual(of(dup.sid).toSorted(), ['delivered', 'delivered', 'sending', 'sending', 'sent', 'sent']);
  await waitFor('three reordered callbacks', () => of(reordered.sid).length === 3);
  assert.deepEqual(of(reordered.sid), ['sending', 'delivered', 'sent']);
  // The resource never moves backwards: the late `sent` callback does not undo `delivered`.
  assert.equal((await client.messages(reordered.sid).fetch()).status, 'delivered');
});

test('a callback the receiver refuses is counted, and the walk goes on', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 20 });
  const receiver = await startWebhookReceiver({ status: 500 });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const message = await sdkClient(sandbox).messages.create({
    to: TO,
    from: FROM,
    body: 'x',
    statusCallback: 'http://127.0.0.1:1/unreachable',
  });
  await sdkClient(sandbox).messages.create({ to: TO, from: FROM, body: 'y', statusCallback: receiver.url });
  await waitFor('six failed callbacks', () => sandbox.stats().callbacksFailed === 6);
  assert.equal((await sdkClient(sandbox).messages(message.sid).fetch()).status, 'delivered');
});
