import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_MMS_PRICE, estimateSmsCost } from '../../src/channels/sms/cost.ts';
import { renderThread } from '../../src/console/sandbox-thread.ts';
import { startTwilioSandbox, type TwilioSandbox } from '../../src/sandbox/server.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { FROM, sdkClient, TO } from './helpers.ts';

describe('MMS at the sandbox, through the real twilio SDK', () => {
  let sandbox: TwilioSandbox;
  before(async () => {
    sandbox = await startTwilioSandbox({ stepMs: 20 });
  });
  after(() => sandbox.close());

  const sentPrice = (sid: string) =>
    waitFor(
      async () => {
        const m = await sdkClient(sandbox).messages(sid).fetch();
        return m.price ?? undefined;
      },
      10_000,
      `a price for ${sid}`,
    );

  test('an MMS keeps its media URLs, reports num_media and is priced per message, apart from a text', async () => {
    const client = sdkClient(sandbox);
    const media = [
      'https://cdn.laundryconnect.com/orders/1/bag.jpg',
      'https://cdn.laundryconnect.com/orders/1/receipt.png',
    ];
    const mms = await client.messages.create({ to: TO, from: FROM, mediaUrl: media });
    const text = await client.messages.create({ to: TO, from: FROM, body: 'Order 1 delivered' });
    assert.equal(mms.numMedia, '2');
    assert.deepEqual(sandbox.messages().find((m) => m.sid === mms.sid)?.mediaUrls, media);
    assert.deepEqual(sandbox.messages().find((m) => m.sid === text.sid)?.mediaUrls, []);
    assert.equal(await sentPrice(mms.sid), (-DEFAULT_MMS_PRICE.perSegment).toFixed(5));
    assert.equal(await sentPrice(text.sid), (-estimateSmsCost(TO, 1).amount).toFixed(5));
  });

  test('the message list shows an MMS image only from an https URL, escaped', async () => {
    const number = '+15551230009';
    const hostile = 'https://cdn.laundryconnect.com/a.png"onerror="alert(1)';
    await sdkClient(sandbox).messages.create({
      to: number,
      from: FROM,
      body: 'Your order photos',
      mediaUrl: [hostile, 'http://cdn.laundryconnect.com/plain.png', 'javascript:alert(2)'],
    });
    const { markup } = renderThread(number, sandbox.messages(), new Map());
    const images = [...markup.matchAll(/<img src="([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(images, ['https://cdn.laundryconnect.com/a.png&quot;onerror=&quot;alert(1)']);
    assert.ok(!markup.includes('src="http://') && !markup.includes('src="javascript:'));
    assert.match(markup, /media not shown \(not https\): http:\/\/cdn\.laundryconnect\.com\/plain\.png/);
  });
});
