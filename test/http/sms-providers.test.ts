import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { DEFAULT_ROUTES } from '../../src/channels/sms/routing/routing-config.ts';
import type { SmsProvidersReport } from '../../src/stats/sms-providers.ts';
import { ADMIN_KEY, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

// Long enough that maskSecret shows a prefix, so "masked" is told apart from "absent".
const SID = `AC${'5678efab'.repeat(4)}`;
const TOKEN = 'c0ffeec0ffeec0ffeec0ffeec0ffee00';
const VONAGE_KEY = 'vk0123456789abcd';
const VONAGE_SECRET = 'VonageApiSecret9';
const VONAGE_SIGNATURE = 'vonage-signature-secret-for-tests';
const CREDENTIALS = {
  SMS_BACKEND: 'sandbox',
  TWILIO_ACCOUNT_SID: SID,
  TWILIO_AUTH_TOKEN: TOKEN,
  VONAGE_API_KEY: VONAGE_KEY,
  VONAGE_API_SECRET: VONAGE_SECRET,
  VONAGE_SIGNATURE_SECRET: VONAGE_SIGNATURE,
  VONAGE_FROM: 'LNDRYC',
};

const get = (app: RunningApp, key: string | null) =>
  fetch(`${app.url}/api/v1/sms/providers`, {
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
  });

async function report(app: RunningApp): Promise<{ text: string; body: SmsProvidersReport }> {
  const res = await get(app, ADMIN_KEY);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return { text, body: JSON.parse(text) as SmsProvidersReport };
}

/** Every route of the defaults that lists the provider, resting = current (nothing has shifted). */
const restingWeights = (provider: string) =>
  Object.entries(DEFAULT_ROUTES).flatMap(([route, { providers }]) =>
    providers
      .filter((p) => p.name === provider)
      .map((p) => ({ route, resting: p.weight, current: p.weight })),
  );

describe(`GET /api/v1/sms/providers (${ENGINE})`, () => {
  describe('with SMS_PROVIDERS=twilio,vonage', () => {
    let t: TestDatabase;
    let app: RunningApp;
    before(async () => {
      t = await createTestDatabase();
      app = await startSmsApp(t, { ...CREDENTIALS, SMS_PROVIDERS: 'twilio,vonage' });
    });
    after(async () => {
      await app?.close();
      await t?.close();
    });

    test('both providers: configured, enabled, their senders and masked ids; the router at rest', async () => {
      const { body } = await report(app);
      assert.equal(body.backend, 'sandbox');
      assert.deepEqual(body.providers, [
        {
          name: 'twilio',
          enabled: true,
          configured: true,
          from: '+15005550006',
          credentials: { accountSid: 'AC5678efab...', messagingServiceSid: null },
        },
        {
          name: 'vonage',
          enabled: true,
          configured: true,
          from: 'LNDRYC',
          credentials: { apiKey: 'vk01234567...' },
        },
      ]);
      const routing = body.routing;
      assert.ok(routing);
      assert.ok(!Number.isNaN(Date.parse(routing.at)));
      assert.equal(routing.lastWeightChangeAt, null);
      assert.deepEqual(routing.history, []);
      assert.deepEqual(
        routing.providers.map((p) => [p.name, p.state, p.healthy, p.shift]),
        [
          ['twilio', 'in_rotation', true, 0],
          ['vonage', 'in_rotation', true, 0],
        ],
      );
      for (const p of routing.providers) {
        assert.deepEqual(p.weights, restingWeights(p.name));
        assert.equal(p.window.ms, 15 * 60_000);
        assert.deepEqual(Object.values(p.window.requests), [0, 0, 0, 0, 0, 0, 0, 0]);
        assert.equal(p.window.failedShare, null);
      }
    });

    test("the answer is the live router's: a provider taken out of rotation shows why, and the change", async () => {
      // The channel does not feed the router yet: report as it will, a refused connection.
      app.sms.router!.recordRequest('vonage', { result: 'not-reached' });
      const { body } = await report(app);
      const vonage = body.routing!.providers.find((p) => p.name === 'vonage')!;
      assert.equal(vonage.state, 'out');
      assert.equal(vonage.outCause, 'connection refused');
      assert.equal(vonage.healthy, false);
      assert.ok(vonage.nextProbeAt);
      assert.equal(vonage.window.requests.connection_refused, 1);
      assert.deepEqual(
        body.routing!.history.map((h) => [h.provider, h.change, h.from, h.to]),
        [['vonage', 'rotation', 'in', 'out']],
      );
    });

    test('no secret in the answer: not the auth token, the API secret or the signature secret', async () => {
      const { text } = await report(app);
      for (const secret of [TOKEN, VONAGE_SECRET, VONAGE_SIGNATURE]) {
        assert.ok(!text.includes(secret), `the answer holds a secret: ${secret}`);
      }
      // The ids are only shown masked.
      assert.ok(!text.includes(SID), 'the full account SID');
      assert.ok(!text.includes(VONAGE_KEY), 'the full API key');
    });

    test('admin keys only: none is 401, a service or viewer key 403', async () => {
      const none = await get(app, null);
      assert.equal(none.status, 401);
      assert.equal(((await none.json()) as { code: string }).code, 'UNAUTHORIZED');
      for (const role of ['service', 'viewer']) {
        const created = await fetch(`${app.url}/api/v1/api-keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `${role} for the providers test`, role }),
        });
        assert.equal(created.status, 201);
        const { key } = (await created.json()) as { key: string };
        const res = await get(app, key);
        const text = await res.text();
        assert.equal(res.status, 403, text);
        assert.equal((JSON.parse(text) as { code: string }).code, 'FORBIDDEN');
        assert.ok(!text.includes('LNDRYC'), 'nothing of the answer in the refusal');
      }
    });

    test('the OpenAPI document describes it', async () => {
      const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
        paths: Record<string, { get?: { tags: string[]; responses: Record<string, unknown> } }>;
      };
      const op = doc.paths['/api/v1/sms/providers']?.get;
      assert.deepEqual(op?.tags, ['sms']);
      const answer = JSON.stringify(op?.responses['200']);
      for (const field of ['credentials', 'accountSid', 'apiKey', 'lastWeightChangeAt', 'nextProbeAt']) {
        assert.ok(answer.includes(field), field);
      }
    });
  });

  describe('with SMS_PROVIDERS=twilio', () => {
    let t: TestDatabase;
    let app: RunningApp;
    before(async () => {
      t = await createTestDatabase();
      app = await startSmsApp(t, { ...CREDENTIALS, SMS_PROVIDERS: 'twilio' });
    });
    after(async () => {
      await app?.close();
      await t?.close();
    });

    test('Vonage is configured but not enabled, and the router knows Twilio alone', async () => {
      const { body, text } = await report(app);
      assert.deepEqual(
        body.providers.map((p) => [p.name, p.configured, p.enabled]),
        [
          ['twilio', true, true],
          ['vonage', true, false],
        ],
      );
      assert.deepEqual(
        body.routing?.providers.map((p) => p.name),
        ['twilio'],
      );
      for (const secret of [TOKEN, VONAGE_SECRET, VONAGE_SIGNATURE]) assert.ok(!text.includes(secret));
    });
  });

  describe('with SMS switched off', () => {
    let t: TestDatabase;
    let app: RunningApp;
    before(async () => {
      t = await createTestDatabase();
      // SMS_PROVIDERS still names twilio (the test default): SMS off wins, no provider is enabled.
      app = await startSmsApp(t, { SMS_ENABLED: 'false' });
    });
    after(async () => {
      await app?.close();
      await t?.close();
    });

    test('neither provider is configured, and there is no routing', async () => {
      const { body } = await report(app);
      assert.deepEqual(
        body.providers.map((p) => [p.name, p.configured, p.enabled]),
        [
          ['twilio', false, false],
          ['vonage', false, false],
        ],
      );
      assert.equal(body.routing, null);
    });
  });
});
