import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { queryRows } from '../../src/db/database.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { parsePrometheusText, samplesOf, sumOf } from '../helpers/prometheus-text.ts';
import { ADMIN_KEY, notify, smsUser, startSmsApp, waitForSmsStatus } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
const N = 5;

describe(`GET /metrics (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, { METRICS_TOKEN: TOKEN, METRICS_PORT: '0' });
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  /** `null`: no Authorization header at all. */
  const scrape = (base: string, token: string | null = TOKEN) =>
    fetch(`${base}/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const parsed = async (base = app.url!) => {
    const res = await scrape(base);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await res.text());
  };

  test('after N notifications through the sandbox, the figures match the database', async () => {
    const context = getNotificationType('order_confirmed')!.sampleContext;
    const ids: string[] = [];
    for (let i = 0; i < N; i++) {
      await smsUser(t.database.db, `metrics-${i}`, `+9198765432${String(i).padStart(2, '0')}`);
      const res = await fetch(`${app.url}/api/v1/notifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: `metrics-${i}`, type: 'order_confirmed', context }),
      });
      assert.equal(res.status, 201);
      ids.push(((await res.json()) as { notification_id: string }).notification_id);
    }
    for (const id of ids) await waitForSmsStatus(t.database.db, id, 'delivered');
    // The other channels (in-app, email) done too, so the scrape and the count below see one state.
    await waitFor(
      async () => {
        const [busy] = await queryRows<{ n: number }>(
          t.database.db,
          sql`select count(*)::int as n from deliveries where status in ('queued', 'sending')`,
        );
        return busy!.n === 0;
      },
      10_000,
      'every delivery done',
    );

    const e = await parsed();
    // The gauge is the table, label for label.
    const rows = await queryRows<{ channel: string; status: string; provider: string | null; n: number }>(
      t.database.db,
      sql`select channel, status, details -> 'route' ->> 'provider' as provider, count(*)::int as n
          from deliveries group by 1, 2, 3`,
    );
    assert.ok(rows.length >= 2, 'sms and in-app deliveries');
    const [traced] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from deliveries where trace_parent is not null`,
    );
    assert.equal(traced!.n, 0, 'tracing off: no delivery carries a traceparent');
    for (const r of rows) {
      const labels = { channel: r.channel, status: r.status, provider: r.provider ?? 'none' };
      assert.equal(sumOf(e, 'notify_deliveries', labels), r.n, JSON.stringify(labels));
    }
    assert.equal(
      sumOf(e, 'notify_deliveries'),
      rows.reduce((s, r) => s + r.n, 0),
    );
    assert.equal(
      sumOf(e, 'notify_deliveries', { channel: 'sms', status: 'delivered', provider: 'twilio' }),
      N,
    );
    // One attempt each, timed, and each reached the provider.
    const sent = { channel: 'sms', provider: 'twilio', outcome: 'sent' };
    assert.equal(sumOf(e, 'notify_send_duration_seconds_count', sent), N);
    assert.equal(sumOf(e, 'notify_send_duration_seconds_bucket', { ...sent, le: '+Inf' }), N);
    assert.equal(
      sumOf(e, 'notify_trigger_to_provider_seconds_count', { channel: 'sms', provider: 'twilio' }),
      N,
    );
    assert.ok(sumOf(e, 'notify_status_report_lag_seconds_count', { source: 'twilio_callback' }) >= N);
    assert.equal(e.types.get('notify_provider_errors_total'), 'counter');
    // Nothing is waiting any more.
    assert.equal(sumOf(e, 'notify_queue_deliveries', { channel: 'sms', state: 'due' }), 0);
    assert.equal(samplesOf(e, 'notify_queue_oldest_due_age_seconds').length, 4, 'one per channel');
    // The route's pattern, never the raw URL.
    const created = { method: 'POST', route: '/api/v1/notifications', status_code: '201' };
    assert.equal(sumOf(e, 'notify_http_request_duration_seconds_count', created), N);
    assert.ok(samplesOf(e, 'nodejs_eventloop_lag_seconds').length > 0, 'default metrics on this registry');
    if (ENGINE === 'postgres')
      assert.ok(sumOf(e, 'notify_db_pool_connections', { state: 'max' }) > 0, 'the pool');
    else assert.equal(samplesOf(e, 'notify_db_pool_connections').length, 0, 'PGlite has no pool');
  });

  test('an unknown path never becomes a route label', async () => {
    for (const path of ['/no-such/12345', '/api/v1/notifications/ntf_x/nope?secret=1'])
      assert.equal((await fetch(`${app.url}${path}`)).status, 404);
    const e = await parsed();
    const routes = new Set(
      samplesOf(e, 'notify_http_request_duration_seconds_count').map((s) => s.labels['route']),
    );
    assert.ok(routes.has('unmatched'));
    for (const r of routes) assert.doesNotMatch(r!, /12345|nope|secret/);
  });

  test('the token is required on the API port and on the metrics listener', async () => {
    for (const base of [app.url!, app.metricsUrl!]) {
      for (const token of [null, 'wrong-token-0123456789abcdef', `${TOKEN}x`]) {
        const res = await scrape(base, token);
        assert.equal(res.status, 401, `${base} with ${token}`);
        assert.equal(((await res.json()) as { code: string }).code, 'METRICS_UNAUTHORIZED');
      }
    }
    const e = await parsed(app.metricsUrl!);
    assert.ok(e.types.has('notify_deliveries'));
    assert.equal((await fetch(`${app.metricsUrl}/healthz`)).status, 404, 'the listener serves /metrics only');
  });
});

describe(`GET /metrics with Vonage sending (${ENGINE})`, () => {
  test("Vonage's signed receipts time the status lag; the gauge names the provider", async () => {
    const t = await createTestDatabase();
    const app = await startSmsApp(t, { METRICS_TOKEN: TOKEN, SMS_PROVIDERS: 'vonage' });
    try {
      await smsUser(t.database.db, 'metrics-vonage', '+919876543299');
      const id = await notify(app, 'metrics-vonage');
      await waitForSmsStatus(t.database.db, id, 'delivered');
      const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const e = parsePrometheusText(await res.text());
      assert.ok(sumOf(e, 'notify_status_report_lag_seconds_count', { source: 'vonage_receipt' }) >= 1);
      assert.equal(sumOf(e, 'notify_status_report_lag_seconds_count', { source: 'twilio_callback' }), 0);
      assert.equal(
        sumOf(e, 'notify_deliveries', { channel: 'sms', status: 'delivered', provider: 'vonage' }),
        1,
      );
      assert.equal(sumOf(e, 'notify_send_duration_seconds_count', { channel: 'sms', provider: 'vonage' }), 1);
    } finally {
      await app.close();
      await t.close();
    }
  });
});

describe(`GET /metrics off and on a worker-only process (${ENGINE})`, () => {
  test('with neither METRICS_TOKEN nor METRICS_PORT, /metrics does not exist', async () => {
    const t = await createTestDatabase();
    const app = await startSmsApp(t);
    try {
      assert.equal(app.metrics, undefined);
      assert.equal((await fetch(`${app.url}/metrics`)).status, 404);
    } finally {
      await app.close();
      await t.close();
    }
  });

  test('a `worker` process serves it on its own listener (no token: the address guards it)', async () => {
    const t = await createTestDatabase();
    const app = await startApp({
      config: testConfig({ ADMIN_API_KEY: ADMIN_KEY, METRICS_PORT: '0' }),
      api: false,
      worker: true,
      database: t.database,
    });
    try {
      assert.equal(app.url, undefined);
      const res = await fetch(`${app.metricsUrl}/metrics`);
      assert.equal(res.status, 200);
      const e = parsePrometheusText(await res.text());
      assert.equal(e.types.get('notify_send_duration_seconds'), 'histogram');
      assert.equal(samplesOf(e, 'notify_http_request_duration_seconds_count').length, 0, 'no API here');
    } finally {
      await app.close();
      await t.close();
    }
  });
});
