import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestClock } from '../../src/clock.ts';
import { ServiceMetrics } from '../../src/telemetry/metrics.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';
import { createTestDatabase, silentLogger } from '../helpers/test-db.ts';
import { insertNotification, makeDispatcher, registerEndpoint } from '../webhooks/helpers.ts';
import { Receiver } from '../webhooks/receiver.ts';

test('GET /metrics shows the webhook outbox still to send and counts each attempt by outcome', async () => {
  const t = await createTestDatabase();
  const ok = await Receiver.start();
  const broken = await Receiver.start();
  broken.answer = () => ({ status: 500 });
  try {
    const db = t.database.db;
    const clock = new TestClock();
    const metrics = new ServiceMetrics({ database: t.database, clock, logger: silentLogger });
    const scrape = async () => parsePrometheusText((await metrics.render()).body);
    await registerEndpoint(db, ok.url);
    await registerEndpoint(db, broken.url);
    await insertNotification(db);

    let e = await scrape();
    assert.equal(sumOf(e, 'notify_webhook_outbox_messages', { state: 'pending' }), 2, 'one per endpoint');
    assert.equal(sumOf(e, 'notify_webhook_outbox_messages', { state: 'failed' }), 0);

    const dispatcher = makeDispatcher(db, clock, { onAttempt: metrics.webhookAttempt });
    // Past the rows' due time (the database's now() at the insert, after the clock started).
    clock.advance(1_000);
    assert.equal(await dispatcher.runOnce(), 2);
    e = await scrape();
    assert.equal(sumOf(e, 'notify_webhook_outbox_messages', { state: 'pending' }), 0);
    assert.equal(
      sumOf(e, 'notify_webhook_outbox_messages', { state: 'failed' }),
      1,
      'the 500 waits to retry',
    );
    assert.equal(sumOf(e, 'notify_webhook_attempts_total', { outcome: 'delivered' }), 1);
    assert.equal(sumOf(e, 'notify_webhook_attempts_total', { outcome: 'failed' }), 1);
    assert.equal(sumOf(e, 'notify_webhook_oldest_due_age_seconds', {}), 0, 'its retry is not due yet');

    // The schedule's second try is 5 s (±10 %) later: 10 s on, it is 4.5–5.5 s overdue.
    clock.advance(10_000);
    e = await scrape();
    const overdue = sumOf(e, 'notify_webhook_oldest_due_age_seconds', {});
    assert.ok(overdue >= 4 && overdue <= 6, `overdue ${overdue} s`);
  } finally {
    await ok.close();
    await broken.close();
    await t.close();
  }
});
