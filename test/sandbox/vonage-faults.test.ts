import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTwilioSandbox } from '../../src/sandbox/server.ts';
import { FROM, sdkClient, vonageClient, vonageSend, waitFor } from './helpers.ts';

const TO = '+15551239001';
const message = { from: 'Laundry', to: TO.slice(1), text: 'Your order is ready' };

/** The HTTP status of the SDK's `VetchError`, which carries the raw response. */
async function httpStatusOf(send: Promise<unknown>): Promise<number> {
  try {
    await send;
  } catch (err) {
    const status = (err as { response?: { status?: unknown } }).response?.status;
    if (typeof status === 'number') return status;
    throw err;
  }
  assert.fail('expected the request to fail');
}

test('Vonage throttling: status 1 on HTTP 200 for a configured refusal, HTTP 429 for the rate limit', async (t) => {
  const sandbox = await startTwilioSandbox({
    stepMs: 60_000,
    faults: { provider: 'vonage', vonageStatus: 1, byNumber: { [TO]: { provider: 'vonage', rate429: 1 } } },
  });
  t.after(() => sandbox.close());
  const sms = vonageClient(sandbox);
  const throttled = await vonageSend(sms, { ...message, to: '15551239002' });
  assert.deepEqual([throttled.messages[0]?.status, throttled.messages[0]?.errorText], ['1', 'Throttled']);
  assert.equal(await httpStatusOf(sms.send(message)), 429);
  assert.equal(sandbox.messages().length, 0);
  assert.deepEqual(sandbox.stats().rejected, { 'vonage-1': 1, 'vonage-http-429': 1 });
});

test('a 5xx fault on Vonage alone leaves Twilio sending, and a fault without provider fails Twilio alone', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000, faults: { provider: 'vonage', rate5xx: 1 } });
  t.after(() => sandbox.close());
  const status = await httpStatusOf(vonageClient(sandbox).send(message));
  assert.ok(status === 500 || status === 503, `status ${status}`);
  await sdkClient(sandbox).messages.create({ to: TO, from: FROM, body: 'through Twilio' });
  assert.deepEqual(
    sandbox.messages().map((m) => m.provider),
    ['twilio'],
  );

  // Today's meaning: no provider is the Twilio API.
  sandbox.setFaults({ rate5xx: 1 });
  await assert.rejects(sdkClient(sandbox).messages.create({ to: TO, from: FROM, body: 'x' }));
  const sent = await vonageClient(sandbox).send(message);
  assert.equal(sent.messages[0]?.status, '0');
  assert.deepEqual(
    sandbox.messages().map((m) => m.provider),
    ['vonage', 'twilio'],
  );
});

test('provider all fails both APIs; a number rule reaches only its own provider', async (t) => {
  const sandbox = await startTwilioSandbox({
    stepMs: 60_000,
    faults: { provider: 'all', rate5xx: 1, byNumber: { [TO]: { provider: 'vonage', rate5xx: 0 } } },
  });
  t.after(() => sandbox.close());
  await assert.rejects(sdkClient(sandbox).messages.create({ to: TO, from: FROM, body: 'x' }));
  assert.equal((await vonageClient(sandbox).send(message)).messages[0]?.status, '0');
  assert.ok((await httpStatusOf(vonageClient(sandbox).send({ ...message, to: '15551239003' }))) >= 500);
});

test('a Vonage hang creates the message and never answers; latency holds the answer', async (t) => {
  const SLOW = '+15551239004';
  const sandbox = await startTwilioSandbox({
    stepMs: 60_000,
    faults: {
      provider: 'vonage',
      rateHang: 1,
      byNumber: { [SLOW]: { provider: 'vonage', rateHang: 0, latencyMs: 60_000 } },
    },
  });
  t.after(() => sandbox.close());
  let settled = 0;
  const track = (p: Promise<unknown>) => {
    const done = p.then(
      () => settled++,
      () => settled++,
    );
    return { p, done };
  };
  const hung = track(vonageClient(sandbox).send(message));
  const slow = track(vonageClient(sandbox).send({ ...message, to: SLOW.slice(1) }));
  await waitFor('both messages stored', () => sandbox.messages().length === 2);
  assert.equal(sandbox.stats().hung, 1);
  assert.equal(settled, 0, 'neither request has its answer yet');
  // Closing the sandbox ends both, as a client's timeout would.
  await sandbox.close();
  await Promise.all([hung.done, slow.done]);
  await assert.rejects(hung.p);
  await assert.rejects(slow.p);
});

test('a fault naming one provider’s codes for the other is refused', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  t.after(() => sandbox.close());
  const put = (body: unknown) =>
    fetch(`${sandbox.url}/sandbox/faults`, { method: 'PUT', body: JSON.stringify(body) });
  assert.equal((await put({ vonageStatus: 7 })).status, 400);
  assert.equal((await put({ provider: 'vonage', createError: 21610 })).status, 400);
  assert.equal((await put({ byNumber: { [TO]: { provider: 'twilio', vonageErrCode: 3 } } })).status, 400);
  assert.equal((await put({ provider: 'vonage', vonageStatus: 7, vonageErrCode: 3 })).status, 200);
  assert.equal((await vonageSend(vonageClient(sandbox), message)).messages[0]?.status, '7');
});
