import assert from 'node:assert/strict';
import { test } from 'node:test';
import twilio from 'twilio';
import { optOutType } from '../../src/sandbox/inbound.ts';
import { startTwilioSandbox } from '../../src/sandbox/server.ts';
import { FROM, sdkClient, startWebhookReceiver, TO, waitFor } from './helpers.ts';

interface SandboxView {
  sid: string;
  to: string;
  body: string;
  status: string;
  history: { status: string; at: string }[];
  params: Record<string, string>;
}

test('GET /sandbox/messages shows newest first with history and raw params; DELETE clears', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 20 });
  t.after(() => sandbox.close());
  const client = sdkClient(sandbox);
  await client.messages.create({ to: TO, from: FROM, body: 'first', validityPeriod: 600 });
  await client.messages.create({ to: '+15559998888', from: FROM, body: 'other' });
  const last = await client.messages.create({ to: TO, from: FROM, body: 'second' });
  await waitFor('delivery', () => sandbox.messages()[0]?.status === 'delivered');

  const res = await fetch(`${sandbox.url}/sandbox/messages?to=${encodeURIComponent(TO)}&limit=5`);
  const { messages } = (await res.json()) as { messages: SandboxView[] };
  assert.deepEqual(
    messages.map((m) => m.body),
    ['second', 'first'],
  );
  assert.equal(messages[0]!.sid, last.sid);
  assert.deepEqual(
    messages[0]!.history.map((h) => h.status),
    ['queued', 'sending', 'sent', 'delivered'],
  );
  assert.equal(messages[1]!.params.ValidityPeriod, '600');

  const limited = (await (await fetch(`${sandbox.url}/sandbox/messages?limit=1`)).json()) as {
    messages: unknown[];
  };
  assert.equal(limited.messages.length, 1);

  assert.equal((await fetch(`${sandbox.url}/sandbox/messages`, { method: 'DELETE' })).status, 204);
  assert.equal(sandbox.messages().length, 0);
  const stats = (await (await fetch(`${sandbox.url}/sandbox/stats`)).json()) as {
    created: number;
    stored: number;
  };
  assert.deepEqual([stats.created, stats.stored], [3, 0]);
});

test('memory is bounded: past maxStoredMessages the oldest message is dropped', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000, maxStoredMessages: 2 });
  t.after(() => sandbox.close());
  const client = sdkClient(sandbox);
  const first = await client.messages.create({ to: TO, from: FROM, body: '1' });
  await client.messages.create({ to: TO, from: FROM, body: '2' });
  await client.messages.create({ to: TO, from: FROM, body: '3' });
  assert.deepEqual(
    sandbox.messages().map((m) => m.body),
    ['3', '2'],
  );
  await assert.rejects(client.messages(first.sid).fetch(), { status: 404 });
});

test('an inbound STOP reaches the webhook signed, with OptOutType, and its TwiML comes back', async (t) => {
  const sandbox = await startTwilioSandbox();
  const twiml = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
  const receiver = await startWebhookReceiver({ body: twiml, contentType: 'text/xml' });
  t.after(async () => {
    await sandbox.close();
    await receiver.close();
  });
  const url = `${receiver.url}/webhooks/twilio/inbound`;
  const res = await fetch(`${sandbox.url}/sandbox/inbound`, {
    method: 'POST',
    body: JSON.stringify({ from: TO, to: FROM, body: 'stop ', url }),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 200, body: twiml });

  const [hook] = receiver.received;
  assert.ok(hook);
  assert.ok(twilio.validateRequest(sandbox.authToken, hook.signature, url, hook.params));
  assert.match(hook.params.MessageSid ?? '', /^SM[0-9a-f]{32}$/);
  assert.equal(hook.params.SmsSid, hook.params.MessageSid);
  assert.deepEqual(
    [hook.params.From, hook.params.To, hook.params.Body, hook.params.OptOutType],
    [TO, FROM, 'stop ', 'STOP'],
  );
  assert.deepEqual(
    [hook.params.NumSegments, hook.params.NumMedia, hook.params.AccountSid],
    ['1', '0', sandbox.accountSid],
  );
  assert.equal(sandbox.stats().inbound, 1);
});

test('only whole-message keywords are opt-out keywords', () => {
  assert.equal(optOutType('  unsubscribe'), 'STOP');
  assert.equal(optOutType('Yes'), 'START');
  assert.equal(optOutType('info'), 'HELP');
  assert.equal(optOutType('please stop'), null);
  assert.equal(optOutType('hello'), null);
});

test('bad control-plane requests are refused', async (t) => {
  const sandbox = await startTwilioSandbox();
  t.after(() => sandbox.close());
  const inbound = await fetch(`${sandbox.url}/sandbox/inbound`, { method: 'POST', body: '{"from":"x"}' });
  assert.equal(inbound.status, 400);
  const unreachable = await fetch(`${sandbox.url}/sandbox/inbound`, {
    method: 'POST',
    body: JSON.stringify({ from: TO, to: FROM, body: 'hi', url: 'http://127.0.0.1:1/' }),
  });
  assert.equal(unreachable.status, 502);
  assert.equal((await fetch(`${sandbox.url}/sandbox/nothing`)).status, 404);
  assert.equal((await fetch(`${sandbox.url}/2010-04-01/Accounts`)).status, 404);
});
