import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { startMailCapture } from '../../src/channels/email/mail-capture.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, smsDelivery, smsUser, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { call } from '../inbox/helpers.ts';
import { browserKeys, startPushService } from '../push/push-service.ts';

describe(`a trace from the HTTP trigger through the worker to the provider (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  const exporter = new InMemorySpanExporter();
  before(async () => {
    t = await createTestDatabase();
    // As startSmsApp, with the spans kept in memory.
    app = await startApp({
      config: testConfig({
        PORT: '0',
        ADMIN_API_KEY: ADMIN_KEY,
        SANDBOX_STEP_MS: '20',
        SMS_REQUEST_TIMEOUT_MS: '2000',
        WORKER_POLL_MS: '50',
      }),
      api: true,
      worker: true,
      database: t.database,
      traceExporter: exporter,
    });
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  test('one trace id spans POST /api/v1/notifications → the SMS attempt → the Twilio call', async () => {
    await smsUser(t.database.db, 'traced', '+919876543210');
    const res = await fetch(`${app.url}/api/v1/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        user_id: 'traced',
        type: 'order_confirmed',
        context: getNotificationType('order_confirmed')!.sampleContext,
      }),
    });
    assert.equal(res.status, 201);
    const { notification_id } = (await res.json()) as { notification_id: string };
    await waitForSmsStatus(t.database.db, notification_id, 'sent');

    const spans = () => exporter.getFinishedSpans();
    const find = (what: (s: ReadableSpan) => boolean) => spans().find(what);
    const twilioCall = await waitFor(
      async () => find((s) => s.name === 'twilio POST'),
      10_000,
      'the provider call span',
    );
    const attempt = find((s) => s.name === 'deliver sms');
    assert.ok(attempt, `the attempt span among ${spans().map((s) => s.name)}`);
    const request = await waitFor(
      async () => find((s) => s.attributes['http.route'] === '/api/v1/notifications'),
      5_000,
      'the request span',
    );

    const traceId = request.spanContext().traceId;
    assert.equal(attempt.spanContext().traceId, traceId, 'the worker continues the request trace');
    assert.equal(twilioCall.spanContext().traceId, traceId, 'and the provider call is in it');
    assert.equal(twilioCall.parentSpanContext?.spanId, attempt.spanContext().spanId);
    assert.equal(attempt.attributes['notify.outcome'], 'sent');
    // Carried across the queue by the delivery row itself.
    const d = await smsDelivery(t.database.db, notification_id);
    assert.match(d.traceParent ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
    assert.equal(attempt.parentSpanContext?.spanId, d.traceParent!.split('-')[2]);
  });
});

describe(`every provider call is a client span in the delivery's trace (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let mail: Awaited<ReturnType<typeof startMailCapture>>;
  let push: Awaited<ReturnType<typeof startPushService>>;
  const exporter = new InMemorySpanExporter();
  before(async () => {
    t = await createTestDatabase();
    mail = await startMailCapture();
    push = await startPushService();
    // Vonage alone for SMS (its side of the built-in sandbox), SMTP to a capture, Web Push to a local service.
    app = await startApp({
      config: testConfig({
        PORT: '0',
        ADMIN_API_KEY: ADMIN_KEY,
        SANDBOX_STEP_MS: '20',
        SMS_REQUEST_TIMEOUT_MS: '2000',
        WORKER_POLL_MS: '50',
        SMS_BACKEND: 'sandbox',
        SMS_PROVIDERS: 'vonage',
        VONAGE_API_KEY: 'vk0123456789abcd',
        VONAGE_API_SECRET: 'VonageApiSecret9',
        VONAGE_SIGNATURE_SECRET: 'vonage-signature-secret-for-tests',
        VONAGE_FROM: 'LNDRYC',
        SMTP_URL: mail.url,
        PUSH_ALLOW_HTTP_ENDPOINTS: 'true',
      }),
      api: true,
      worker: true,
      database: t.database,
      traceExporter: exporter,
    });
  });
  after(async () => {
    await app.close();
    await push.close();
    await mail.close();
    await t.close();
  });

  test('Vonage, SMTP and Web Push calls each have a client span under their attempt, in the request trace', async () => {
    await smsUser(t.database.db, 'traced-all', '+919876543211');
    const put = await call(app.url!, 'PUT', '/api/v1/users/traced-all', {
      token: ADMIN_KEY,
      body: { email: 'traced-all@example.com' },
    });
    assert.ok(put.status < 300, JSON.stringify(put.body));
    const issued = await call(app.url!, 'POST', '/api/v1/users/traced-all/token', { token: ADMIN_KEY });
    const keys = browserKeys();
    const sub = await call(app.url!, 'POST', '/api/v1/push/subscriptions', {
      token: issued.body.token as string,
      body: {
        endpoint: `${push.url}/push/traced`,
        expirationTime: null,
        keys: { p256dh: keys.p256dh, auth: keys.auth },
      },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const res = await call(app.url!, 'POST', '/api/v1/notifications', {
      token: ADMIN_KEY,
      body: {
        user_id: 'traced-all',
        type: 'order_confirmed',
        context: getNotificationType('order_confirmed')!.sampleContext,
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));

    const spans = () => exporter.getFinishedSpans();
    const request = await waitFor(
      async () => spans().find((s) => s.attributes['http.route'] === '/api/v1/notifications'),
      5_000,
      'the request span',
    );
    const traceId = request.spanContext().traceId;
    for (const [channel, name, host] of [
      ['sms', 'vonage POST', '127.0.0.1'],
      ['email', 'smtp send', '127.0.0.1'],
      ['push', 'webpush POST', '127.0.0.1'],
    ] as const) {
      const client = await waitFor(
        async () => spans().find((s) => s.name === name && s.spanContext().traceId === traceId),
        15_000,
        `the ${name} span (spans: ${spans().map((s) => s.name)})`,
      );
      const attempt = spans().find((s) => s.spanContext().spanId === client.parentSpanContext?.spanId);
      assert.equal(attempt?.name, `deliver ${channel}`, `${name} is a child of the ${channel} attempt`);
      assert.equal(client.kind, SpanKind.CLIENT);
      assert.equal(client.attributes['server.address'], host, name);
      assert.equal(client.status.code, SpanStatusCode.UNSET, `${name} succeeded`);
    }
    const pushed = spans().find((s) => s.name === 'webpush POST')!;
    assert.equal(pushed.attributes['http.response.status_code'], 201);
    // The push request carried the span's traceparent, as the Twilio call does.
    const received = push.received.find((r) => r.path === '/push/traced');
    assert.equal(received?.headers['traceparent']?.toString().split('-')[2], pushed.spanContext().spanId);
  });
});
