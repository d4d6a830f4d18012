import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TypeEnum } from '@vonage/sms';
import { startTwilioSandbox, type TwilioSandbox } from '../../src/sandbox/server.ts';
import { vonageClient, vonageSend } from './helpers.ts';

const US = '15551230001';
const INDIA = '919876543210';

describe('Vonage SMS API', () => {
  let sandbox: TwilioSandbox;
  before(async () => {
    sandbox = await startTwilioSandbox({ stepMs: 60_000 });
  });
  after(() => sandbox.close());

  test('a form-encoded send with api_key/api_secret answers in Vonage’s exact shape', async () => {
    const { apiKey, apiSecret } = sandbox.vonage;
    const res = await fetch(`${sandbox.url}/sms/json`, {
      method: 'POST',
      body: new URLSearchParams({
        api_key: apiKey,
        api_secret: apiSecret,
        from: 'Laundry',
        to: US,
        text: 'Hi',
      }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { 'message-count': string; messages: Record<string, string>[] };
    assert.equal(body['message-count'], '1');
    const entry = body.messages[0]!;
    assert.deepEqual(Object.keys(entry).sort(), [
      'message-id',
      'message-price',
      'network',
      'remaining-balance',
      'status',
      'to',
    ]);
    assert.equal(entry.to, US);
    assert.equal(entry.status, '0');
    assert.match(entry['message-id'] ?? '', /^[0-9A-F]{16}$/);
    assert.match(entry['message-price'] ?? '', /^\d+\.\d{8}$/);
    assert.match(entry['remaining-balance'] ?? '', /^\d+\.\d{8}$/);
    const stored = sandbox.messages()[0]!;
    assert.deepEqual(
      [stored.provider, stored.sid, stored.to, stored.body],
      ['vonage', entry['message-id'], `+${US}`, 'Hi'],
    );
  });

  test('GSM text splits at 153 characters a part once past 160, one entry per part', async () => {
    const sms = vonageClient(sandbox);
    const counts = [];
    for (const length of [160, 161, 306, 307]) {
      const answer = await sms.send({ from: 'Laundry', to: US, text: 'a'.repeat(length) });
      counts.push([answer.messageCount, answer.messages.length]);
    }
    assert.deepEqual(counts, [
      ['1', 1],
      ['2', 2],
      ['2', 2],
      ['3', 3],
    ]);
  });

  test('unicode (Hindi, ₹) with type=unicode splits at 67 a part once past 70, each part charged', async () => {
    const sms = vonageClient(sandbox);
    const hindi = 'आपका ऑर्डर तैयार है, कुल ₹499'; // 29 UCS-2 characters
    const one = await sms.send({
      from: 'Laundry',
      to: INDIA,
      text: hindi.padEnd(70, 'ा'),
      type: TypeEnum.UNICODE,
    });
    const three = await sms.send({
      from: 'Laundry',
      to: INDIA,
      text: hindi.padEnd(135, 'ा'),
      type: TypeEnum.UNICODE,
    });
    // Sent last, so it is the newest stored message below.
    const two = await sms.send({
      from: 'Laundry',
      to: INDIA,
      text: hindi.padEnd(71, 'ा'),
      type: TypeEnum.UNICODE,
    });
    assert.deepEqual(
      [one.messageCount, two.messageCount, two.messages.length, three.messageCount],
      ['1', '2', 2, '3'],
    );
    const [first, second] = two.messages as {
      remainingBalance: string;
      messagePrice: string;
      messageId: string;
    }[];
    assert.ok(first && second && first.messageId !== second.messageId);
    const charged = Number(first.remainingBalance) - Number(second.remainingBalance);
    assert.equal(charged.toFixed(8), second.messagePrice);
    const stored = sandbox.messages()[0]!;
    assert.equal(stored.params.type, 'unicode');
    assert.equal(stored.body, hindi.padEnd(71, 'ा'));
    assert.deepEqual(stored.vonage?.messageIds, [first.messageId, second.messageId]);
  });

  test('India’s DLT entity and content ids are kept on the stored message', async () => {
    await vonageClient(sandbox).send({
      from: 'LCLNDR',
      to: INDIA,
      text: 'Your order 42 is ready',
      entityId: '1101456789012345678',
      contentId: '1107161234567890123',
    });
    const stored = sandbox.messages()[0]!;
    assert.equal(stored.vonage?.entityId, '1101456789012345678');
    assert.equal(stored.vonage?.contentId, '1107161234567890123');
    const listed = (await (
      await fetch(`${sandbox.url}/sandbox/messages?provider=vonage&limit=1`)
    ).json()) as {
      messages: { vonage: { entityId: string } }[];
    };
    assert.equal(listed.messages[0]?.vonage.entityId, '1101456789012345678');
  });

  test('a wrong secret is refused with status 4 and stores nothing', async () => {
    const stored = sandbox.messages().length;
    const answer = await vonageSend(vonageClient(sandbox, { apiSecret: 'wrong-secret-000' }), {
      from: 'Laundry',
      to: US,
      text: 'x',
    });
    const [refused] = answer.messages;
    assert.deepEqual(
      [answer.messages.length, refused?.status, refused?.errorText],
      [1, '4', 'Bad Credentials'],
    );
    assert.equal(sandbox.messages().length, stored);
  });

  test('missing and invalid parameters are refused with Vonage’s statuses', async () => {
    const sms = vonageClient(sandbox);
    const noText = await vonageSend(sms, { from: 'Laundry', to: US, text: '' });
    const badTo = await vonageSend(sms, { from: 'Laundry', to: '12', text: 'x' });
    const badFrom = await vonageSend(sms, { from: 'Laundry Services Ltd', to: US, text: 'x' });
    assert.deepEqual(
      [noText, badTo, badFrom].map((a) => a.messages[0]?.status),
      ['2', '3', '15'],
    );
  });

  test('the messages list shows each message’s provider and filters by it', async () => {
    const list = async (query: string) =>
      (
        (await (await fetch(`${sandbox.url}/sandbox/messages${query}`)).json()) as {
          messages: { provider: string }[];
        }
      ).messages;
    assert.deepEqual(await list('?provider=twilio'), []);
    const all = await list('');
    assert.ok(all.length > 0 && all.every((m) => m.provider === 'vonage'));
    assert.equal((await fetch(`${sandbox.url}/sandbox/messages?provider=plivo`)).status, 400);
  });
});
