import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import twilio from 'twilio';
import { startTwilioSandbox, type TwilioSandbox } from '../../src/sandbox/server.ts';
import { FROM, sdkClient, TO, waitFor } from './helpers.ts';

async function restError(send: () => Promise<unknown>): Promise<{ status: number; code: number }> {
  try {
    await send();
  } catch (err) {
    assert.ok(err instanceof twilio.RestException, `expected a RestException, got ${String(err)}`);
    return { status: err.status, code: err.code ?? 0 };
  }
  assert.fail('expected the request to be rejected');
}

describe('redacting and deleting a finished message through the twilio SDK', () => {
  let sandbox: TwilioSandbox;
  before(async () => {
    sandbox = await startTwilioSandbox({ stepMs: 5 });
  });
  after(() => sandbox.close());

  async function delivered(body: string): Promise<string> {
    const { sid } = await sdkClient(sandbox).messages.create({ to: TO, from: FROM, body });
    await waitFor('delivery', () => sandbox.messages().find((m) => m.sid === sid)?.status === 'delivered');
    return sid;
  }

  test('an empty Body redacts the text, keeping the record', async () => {
    const client = sdkClient(sandbox);
    const sid = await delivered('Your PIN is 4821');
    const redacted = await client.messages(sid).update({ body: '' });
    assert.deepEqual([redacted.body, redacted.status], ['', 'delivered']);
    assert.equal((await client.messages(sid).fetch()).body, '');
    assert.equal(sandbox.messages().find((m) => m.sid === sid)?.params.Body, '');
  });

  test('a non-empty Body, or Body with Status, is refused with 30400', async () => {
    const client = sdkClient(sandbox);
    const sid = await delivered('keep me');
    const replaced = await restError(() => client.messages(sid).update({ body: 'other text' }));
    assert.deepEqual([replaced.status, replaced.code], [400, 30400]);
    const both = await restError(() => client.messages(sid).update({ body: '', status: 'canceled' }));
    assert.equal(both.code, 30400);
    assert.equal((await client.messages(sid).fetch()).body, 'keep me');
  });

  test('canceling a message that was not scheduled is refused with 30409', async () => {
    const sid = await delivered('too late');
    const error = await restError(() => sdkClient(sandbox).messages(sid).update({ status: 'canceled' }));
    assert.deepEqual([error.status, error.code], [400, 30409]);
  });

  test('remove() deletes the message; it is then 404', async () => {
    const client = sdkClient(sandbox);
    const sid = await delivered('delete me');
    assert.equal(await client.messages(sid).remove(), true);
    const missing = await restError(() => client.messages(sid).fetch());
    assert.deepEqual([missing.status, missing.code], [404, 20404]);
    const again = await restError(() => client.messages(sid).remove());
    assert.equal(again.code, 20404);
  });
});

describe('a message still in flight', () => {
  let sandbox: TwilioSandbox;
  before(async () => {
    sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  });
  after(() => sandbox.close());

  test('can be neither redacted nor deleted (20009), and is left untouched', async () => {
    const client = sdkClient(sandbox);
    const { sid } = await client.messages.create({ to: TO, from: FROM, body: 'on its way' });
    const redact = await restError(() => client.messages(sid).update({ body: '' }));
    assert.deepEqual([redact.status, redact.code], [400, 20009]);
    const remove = await restError(() => client.messages(sid).remove());
    assert.deepEqual([remove.status, remove.code], [400, 20009]);
    const fetched = await client.messages(sid).fetch();
    assert.deepEqual([fetched.body, fetched.status], ['on its way', 'queued']);
  });
});
