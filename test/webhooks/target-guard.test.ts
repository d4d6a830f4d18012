import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningApp, startApp } from '../../src/app.ts';
import { AppError } from '../../src/errors.ts';
import { sendWebhook } from '../../src/webhooks/send-webhook.ts';
import { checkWebhookTarget, refusedRange } from '../../src/webhooks/target-guard.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { Receiver } from './receiver.ts';

const refused = (url: string, pattern: RegExp) =>
  assert.rejects(checkWebhookTarget(url, false), (err: unknown) => {
    assert.ok(err instanceof AppError);
    assert.equal(err.code, 'WEBHOOK_TARGET_REFUSED');
    assert.match(err.message, pattern);
    return true;
  });

describe('the SSRF guard, with WEBHOOK_ALLOW_PRIVATE_TARGETS off', () => {
  test('registration refuses loopback, private, link-local, IPv6 loopback and a name that resolves to loopback', async () => {
    await refused('http://127.0.0.1:8080/hook', /loopback/);
    await refused('http://10.1.2.3/hook', /private/);
    await refused('http://192.168.0.10/hook', /private/);
    await refused('http://169.254.169.254/latest/meta-data', /linkLocal/);
    await refused('http://[::1]/hook', /loopback/);
    await refused('http://[fd00::1]/hook', /uniqueLocal/);
    await refused('http://[::ffff:127.0.0.1]/hook', /loopback/);
    await refused('http://0.0.0.0/hook', /unspecified/);
    await refused('http://224.0.0.1/hook', /multicast/);
    await refused('http://localhost:8080/hook', /localhost is a loopback address/);
    await refused('ftp://example.com/hook', /Only http and https/);
    await refused('http://user:pass@example.com/hook', /No credentials/);
  });

  test('a public address passes (checked without a network: an IP literal)', async () => {
    await checkWebhookTarget('https://93.184.215.14/hooks', false);
    assert.equal(refusedRange('2606:4700::1111'), undefined);
  });

  test('at send time too: a refused target is a failed attempt and the receiver hears nothing', async () => {
    const receiver = await Receiver.start();
    try {
      for (const url of [receiver.url, `http://localhost:${receiver.port}/hooks`]) {
        const res = await sendWebhook({
          url,
          messageId: 'msg_0',
          body: '{}',
          secrets: [`whsec_${Buffer.from('a test secret of 24 bytes').toString('base64')}`],
          signedAt: new Date(),
          timeoutMs: 2_000,
          allowPrivate: false,
        });
        assert.equal(res.status, null);
        assert.match(res.error!, /^refused: .* is a loopback address/, url);
      }
      assert.equal(receiver.received.length, 0);
    } finally {
      await receiver.close();
    }
  });
});

describe(`registering a private target over the API (${ENGINE})`, () => {
  const ADMIN = 'lcn_adm_webhook_guard_test_012345678';
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN }),
      api: true,
      worker: false,
      database: t.database,
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('answers 422 WEBHOOK_TARGET_REFUSED and stores nothing', async () => {
    const res = await fetch(`${app.url}/api/v1/webhook-endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/hooks' }),
    });
    assert.equal(res.status, 422);
    const body = (await res.json()) as { code: string };
    assert.equal(body.code, 'WEBHOOK_TARGET_REFUSED');
    const list = await fetch(`${app.url}/api/v1/webhook-endpoints`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.deepEqual(await list.json(), { endpoints: [] });
  });
});
