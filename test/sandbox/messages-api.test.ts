import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import twilio from 'twilio';
import { BaseUrlRequestClient } from '../../src/channels/sms/twilio-http-client.ts';
import { startTwilioSandbox, type TwilioSandbox } from '../../src/sandbox/server.ts';
import { FROM, sdkClient, TO } from './helpers.ts';

/** Runs `send` and returns the RestException the SDK threw. */
async function restError(
  send: () => Promise<unknown>,
): Promise<{ status: number; code: number; message: string }> {
  try {
    await send();
  } catch (err) {
    assert.ok(err instanceof twilio.RestException, `expected a RestException, got ${String(err)}`);
    return { status: err.status, code: err.code ?? 0, message: err.message };
  }
  assert.fail('expected the request to be rejected');
}

describe('Messages API through the real twilio SDK', () => {
  let sandbox: TwilioSandbox;
  before(async () => {
    sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  });
  after(() => sandbox.close());

  test('create answers a queued Message resource shaped like Twilio’s', async () => {
    const message = await sdkClient(sandbox).messages.create({
      to: TO,
      from: FROM,
      body: 'Order 1 picked up',
    });
    assert.match(message.sid, /^SM[0-9a-f]{32}$/);
    assert.equal(message.status, 'queued');
    assert.equal(message.numSegments, '1');
    assert.equal(message.direction, 'outbound-api');
    assert.equal(message.accountSid, sandbox.accountSid);
    assert.equal(message.price, null);
    assert.equal(message.apiVersion, '2010-04-01');
    assert.equal(message.uri, `/2010-04-01/Accounts/${sandbox.accountSid}/Messages/${message.sid}.json`);
    assert.ok(message.dateCreated instanceof Date && !Number.isNaN(message.dateCreated.getTime()));
  });

  test('segments follow GSM-7 and UCS-2 limits', async () => {
    const client = sdkClient(sandbox);
    const long = await client.messages.create({ to: TO, from: FROM, body: 'a'.repeat(161) });
    const unicode = await client.messages.create({ to: TO, from: FROM, body: '₹'.repeat(71) });
    const extension = await client.messages.create({ to: TO, from: FROM, body: '{'.repeat(81) });
    assert.deepEqual([long.numSegments, unicode.numSegments, extension.numSegments], ['2', '2', '2']);
  });

  test('a wrong auth token is refused with 401 / 20003 and creates nothing', async () => {
    const before = sandbox.messages().length;
    const error = await restError(() =>
      sdkClient(sandbox, { authToken: 'f'.repeat(32) }).messages.create({ to: TO, from: FROM, body: 'x' }),
    );
    assert.deepEqual([error.status, error.code], [401, 20003]);
    assert.equal(sandbox.messages().length, before);
  });

  test('invalid and missing parameters get Twilio’s codes', async () => {
    const client = sdkClient(sandbox);
    const invalidTo = await restError(() =>
      client.messages.create({ to: '555-0100', from: FROM, body: 'x' }),
    );
    assert.deepEqual([invalidTo.status, invalidTo.code], [400, 21211]);
    assert.equal(invalidTo.message, "The 'To' number 555-0100 is not a valid phone number.");
    const noFrom = await restError(() => client.messages.create({ to: TO, body: 'x' }));
    assert.equal(noFrom.code, 21603);
    const noBody = await restError(() => client.messages.create({ to: TO, from: FROM }));
    assert.equal(noBody.code, 21602);
    const tooLong = await restError(() =>
      client.messages.create({ to: TO, from: FROM, body: 'a'.repeat(1601) }),
    );
    assert.equal(tooLong.code, 21617);
  });

  test('media or a content template without a body is accepted; media is counted', async () => {
    const client = sdkClient(sandbox);
    const mms = await client.messages.create({
      to: TO,
      from: FROM,
      mediaUrl: ['https://example.com/receipt.png', 'https://example.com/bag.jpg'],
    });
    assert.deepEqual([mms.status, mms.numMedia, mms.body], ['queued', '2', '']);
    const template = await client.messages.create({ to: TO, from: FROM, contentSid: `HX${'b'.repeat(32)}` });
    assert.deepEqual([template.status, template.numMedia], ['queued', '0']);
  });

  test('an oversized create is answered 413, and the client receives it', async () => {
    const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
    const before = sandbox.messages().length;
    const res = await fetch(`${sandbox.url}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: TO, From: FROM, Body: 'a'.repeat(70 * 1024) }).toString(),
    });
    const body = (await res.json()) as { status: number; code: number };
    assert.deepEqual([res.status, body.status], [413, 413]);
    assert.equal(sandbox.messages().length, before);
  });

  test('a messaging service may stand in for From', async () => {
    const service = `MG${'a'.repeat(32)}`;
    const message = await sdkClient(sandbox).messages.create({
      to: TO,
      messagingServiceSid: service,
      body: 'x',
    });
    assert.equal(message.messagingServiceSid, service);
  });

  test('fetch returns the stored message and 404 / 20404 for an unknown sid', async () => {
    const client = sdkClient(sandbox);
    const created = await client.messages.create({ to: TO, from: FROM, body: 'fetch me' });
    const fetched = await client.messages(created.sid).fetch();
    assert.equal(fetched.body, 'fetch me');
    const missing = await restError(() => client.messages(`SM${'0'.repeat(32)}`).fetch());
    assert.deepEqual([missing.status, missing.code], [404, 20404]);
  });

  test('regional hostnames are rewritten to the base URL too', async () => {
    const httpClient = new BaseUrlRequestClient({ baseUrl: `${sandbox.url}/`, timeoutMs: 5_000 });
    const client = twilio(sandbox.accountSid, sandbox.authToken, {
      httpClient,
      region: 'ie1',
      edge: 'dublin',
    });
    const message = await client.messages.create({ to: TO, from: FROM, body: 'via Dublin' });
    assert.match(message.sid, /^SM/);
  });
});

describe('listing messages', () => {
  let sandbox: TwilioSandbox;
  before(async () => {
    sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  });
  after(() => sandbox.close());

  test('list filters by To and dateSentAfter and pages newest first', async () => {
    const client = sdkClient(sandbox);
    const target = '+15551239999';
    await client.messages.create({ to: TO, from: FROM, body: 'someone else' });
    const sids: string[] = [];
    for (let i = 0; i < 5; i++) {
      sids.push((await client.messages.create({ to: target, from: FROM, body: `reminder ${i}` })).sid);
    }
    const since = new Date(Date.now() - 60_000);
    const all = await client.messages.list({ to: target, dateSentAfter: since, pageSize: 2 });
    assert.deepEqual(
      all.map((m) => m.sid),
      sids.toReversed(),
    );
    const future = await client.messages.list({ to: target, dateSentAfter: new Date(Date.now() + 120_000) });
    assert.equal(future.length, 0);
    const page = await client.messages.page({ to: target, pageSize: 2 });
    assert.equal(page.instances.length, 2);
    assert.ok(page.nextPageUrl?.includes('Page=1'));
  });

  test('list accepts date-only bounds and rejects garbage dates', async () => {
    const auth = `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`;
    const base = `${sandbox.url}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`;
    const today = new Date().toISOString().slice(0, 10);
    const ok = await fetch(`${base}?${new URLSearchParams({ 'DateSent>': today, 'DateSent<': today })}`, {
      headers: { authorization: auth },
    });
    const body = (await ok.json()) as { messages: unknown[]; page_size: number; previous_page_uri: null };
    assert.equal(ok.status, 200);
    assert.ok(body.messages.length > 0);
    assert.equal(body.page_size, 50);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const none = await fetch(`${base}?${new URLSearchParams({ 'DateSent<': yesterday })}`, {
      headers: { authorization: auth },
    });
    assert.equal(((await none.json()) as { messages: unknown[] }).messages.length, 0);
    const bad = await fetch(`${base}?DateSent=yesterday`, { headers: { authorization: auth } });
    assert.equal(bad.status, 400);
  });
});
