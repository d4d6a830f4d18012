import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY, smsDelivery, smsUser, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

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
