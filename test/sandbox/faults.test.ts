import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import twilio from 'twilio';
import { FaultInjector } from '../../src/sandbox/faults.ts';
import { startTwilioSandbox, type TwilioSandbox } from '../../src/sandbox/server.ts';
import { FROM, sdkClient, TO, waitFor } from './helpers.ts';

const RATE_LIMITED = '+15005550429';
const BROKEN = '+15005550500';
const HANGING = '+15005550408';
const OPTED_OUT = '+15005550610';
const LANDLINE = '+15005550614';
const SLOW = '+15005550200';

async function rejection(send: () => Promise<unknown>): Promise<unknown> {
  try {
    await send();
  } catch (err) {
    return err;
  }
  assert.fail('expected the request to fail');
}

describe('per-number faults', () => {
  let sandbox: TwilioSandbox;
  before(async () => {
    sandbox = await startTwilioSandbox({
      stepMs: 60_000,
      faults: {
        byNumber: {
          [RATE_LIMITED]: { rate429: 1 },
          [BROKEN]: { rate5xx: 1 },
          [HANGING]: { rateHang: 1 },
          [OPTED_OUT]: { createError: 21610 },
          [LANDLINE]: { createError: 21614 },
          [SLOW]: { latencyMs: 3_000 },
        },
      },
    });
  });
  after(() => sandbox.close());

  test('429 reaches the caller as RestException 20429 when SDK auto-retry is off', async () => {
    const err = await rejection(() =>
      sdkClient(sandbox).messages.create({ to: RATE_LIMITED, from: FROM, body: 'x' }),
    );
    assert.ok(err instanceof twilio.RestException);
    assert.deepEqual([err.status, err.code], [429, 20429]);
  });

  test('5xx answers 500 or 503 and creates nothing', async () => {
    const before = sandbox.stats().created;
    const err = await rejection(() =>
      sdkClient(sandbox).messages.create({ to: BROKEN, from: FROM, body: 'x' }),
    );
    assert.ok(err instanceof twilio.RestException);
    assert.ok(err.status === 500 || err.status === 503, `status ${err.status}`);
    assert.equal(sandbox.stats().created, before);
  });

  test('a hung create times out at the client although the message exists', async () => {
    const err = await rejection(() =>
      sdkClient(sandbox, { timeoutMs: 200 }).messages.create({
        to: HANGING,
        from: FROM,
        body: 'did it send?',
      }),
    );
    // The client's own timeout ended it (the sandbox never answers a hung create).
    assert.match(String(err), /timeout/i);
    assert.equal(sandbox.stats().hung, 1);
    assert.equal(sandbox.messages().find((m) => m.to === HANGING)?.body, 'did it send?');
  });

  test('21610 and 21614 are refused at create', async () => {
    const client = sdkClient(sandbox);
    const optedOut = await rejection(() => client.messages.create({ to: OPTED_OUT, from: FROM, body: 'x' }));
    assert.ok(optedOut instanceof twilio.RestException);
    assert.deepEqual([optedOut.status, optedOut.code], [400, 21610]);
    assert.equal(optedOut.message, 'Attempt to send to unsubscribed recipient');
    const landline = await rejection(() => client.messages.create({ to: LANDLINE, from: FROM, body: 'x' }));
    assert.ok(landline instanceof twilio.RestException);
    assert.equal(landline.code, 21614);
    const { rejected } = sandbox.stats();
    assert.deepEqual([rejected[21610], rejected[21614]], [1, 1]);
  });

  test('latency delays the answer, not the other numbers', async () => {
    const client = sdkClient(sandbox);
    // Order, not speed: sent together, the other number's answer comes back while the slow one
    // is still held, however slow the machine.
    let slowAnswered = false;
    const slow = client.messages.create({ to: SLOW, from: FROM, body: 'x' }).then((m) => {
      slowAnswered = true;
      return m;
    });
    await client.messages.create({ to: TO, from: FROM, body: 'x' });
    assert.equal(slowAnswered, false, 'other numbers are not slowed');
    assert.equal((await slow).to, SLOW, 'the slow number is answered in the end');
  });
});

test('PUT /sandbox/faults changes faults from another process and refuses nonsense', async (t) => {
  const sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  t.after(() => sandbox.close());
  const put = (body: unknown) =>
    fetch(`${sandbox.url}/sandbox/faults`, { method: 'PUT', body: JSON.stringify(body) });

  const bad = await put({ rate429: 2 });
  assert.equal(bad.status, 400);
  assert.equal((await put({ rate429: 1, byNumber: { [TO]: { rate429: 0 } } })).status, 200);

  const client = sdkClient(sandbox);
  await client.messages.create({ to: TO, from: FROM, body: 'exempt number' });
  const err = await rejection(() => client.messages.create({ to: '+15551112222', from: FROM, body: 'x' }));
  assert.ok(err instanceof twilio.RestException && err.code === 20429);
  assert.deepEqual(await (await fetch(`${sandbox.url}/sandbox/faults`)).json(), {
    rate429: 1,
    byNumber: { [TO]: { rate429: 0 } },
  });
});

test('a seed makes the fault sequence reproducible and rates roughly honoured', () => {
  const draw = () => {
    const faults = new FaultInjector({ seed: 42, rate429: 0.2, rate5xx: 0.1 });
    return Array.from({ length: 1_000 }, () => faults.roll(faults.ruleFor(TO, 'twilio')));
  };
  const first = draw();
  assert.deepEqual(draw(), first);
  const limited = first.filter((o) => o === 'rate-limited').length;
  const errors = first.filter((o) => o === 'server-error').length;
  assert.ok(limited > 150 && limited < 250, `429s: ${limited}`);
  assert.ok(errors > 60 && errors < 140, `5xx: ${errors}`);
});

test('closing the sandbox releases requests left hanging', async () => {
  const sandbox = await startTwilioSandbox({ faults: { rateHang: 1 } });
  const pending = sdkClient(sandbox, { timeoutMs: 30_000 }).messages.create({
    to: TO,
    from: FROM,
    body: 'x',
  });
  await waitFor('the hung request', () => sandbox.stats().hung === 1);
  await sandbox.close();
  await assert.rejects(pending);
});
