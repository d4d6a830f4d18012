import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { systemClock, TestClock } from '../../src/clock.ts';
import { queryRows } from '../../src/db/database.ts';
import { rotateEndpointSecret } from '../../src/webhooks/endpoint-store.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { attempts, insertNotification, makeDispatcher, outbox, registerEndpoint } from './helpers.ts';
import { Receiver } from './receiver.ts';

const ms = (d: Date | string) => new Date(d).getTime();
const [S, M, H] = [1000, 60_000, 3_600_000];
/** The Standard Webhooks schedule, written out here so the test checks the code against the spec. */
const SPEC_DELAYS = [0, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 14 * H, 20 * H, 24 * H];

describe(`webhook dispatcher (${ENGINE})`, () => {
  let t: TestDatabase;
  let receiver: Receiver;
  beforeEach(async () => {
    t = await createTestDatabase();
    receiver = await Receiver.start();
  });
  afterEach(async () => {
    await receiver.close();
    await t.close();
  });

  test('a message is signed by Standard Webhooks: the library verifies it, and rejects a tampered or forged one', async () => {
    const { secret } = await registerEndpoint(t.database.db, receiver.url);
    const notificationId = await insertNotification(t.database.db);
    const d = makeDispatcher(t.database.db, new TestClock());
    assert.equal(await d.runOnce(), 1);
    const got = await receiver.nth(1);
    const headers = got.headers as Record<string, string>;
    const verified = new Webhook(secret).verify(got.body, headers) as {
      type: string;
      data: Record<string, unknown>;
    };
    assert.equal(verified.type, 'notification.created');
    assert.equal(verified.data['notification_id'], notificationId);
    assert.equal(verified.data['user_id'], 'wh-user');
    assert.match(headers['webhook-id']!, /^msg_[0-9a-f]{32}$/);
    assert.throws(
      () => new Webhook(secret).verify(got.body.replace('wh-user', 'someone'), headers),
      WebhookVerificationError,
    );
    const forged = 'whsec_' + Buffer.from('not the endpoint secret, 24b').toString('base64');
    assert.throws(() => new Webhook(forged).verify(got.body, headers), WebhookVerificationError);
    const [row] = await outbox(t.database.db);
    assert.equal(row!.state, 'delivered');
    assert.equal(row!.attempts, 1);
    const [attempt] = await attempts(t.database.db);
    assert.equal(attempt!.status_code, 204);
  });

  test('a new event wakes a running sender at once (NOTIFY), not at its next poll', async () => {
    await registerEndpoint(t.database.db, receiver.url);
    // An hour's poll on the system clock: within this test only the wake-up can send.
    const d = makeDispatcher(t.database.db, systemClock, {
      pollMs: 3_600_000,
      listen: (channel, onWake) => t.database.listen(channel, onWake),
    });
    await d.start();
    try {
      const notificationId = await insertNotification(t.database.db);
      const got = await Promise.race([
        receiver.nth(1),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('no webhook: the sender was not woken')), 20_000).unref(),
        ),
      ]);
      assert.equal(
        (JSON.parse(got.body) as { data: { notification_id: string } }).data.notification_id,
        notificationId,
      );
    } finally {
      await d.stop();
    }
  });

  test('during a secret rotation both secrets sign; after the overlap only the new one', async () => {
    const { endpoint, secret: old } = await registerEndpoint(t.database.db, receiver.url);
    const clock = new TestClock();
    const { secret: fresh } = await rotateEndpointSecret(
      t.database.db,
      endpoint.id,
      3600,
      new Date(clock.now()),
    );
    await insertNotification(t.database.db);
    const d = makeDispatcher(t.database.db, clock);
    clock.advance(1_000); // past the event, which the database stamped after the clock started
    assert.equal(await d.runOnce(), 1);
    const first = await receiver.nth(1);
    assert.equal((first.headers['webhook-signature'] as string).split(' ').length, 2);
    for (const s of [old, fresh]) new Webhook(s).verify(first.body, first.headers as Record<string, string>);
    clock.advance(3600_000 + 1);
    await insertNotification(t.database.db);
    assert.equal(await d.runOnce(), 1);
    const second = await receiver.nth(2);
    new Webhook(fresh).verify(second.body, second.headers as Record<string, string>);
    assert.throws(() => new Webhook(old).verify(second.body, second.headers as Record<string, string>));
  });

  test('a failing endpoint is retried on the schedule (5 s, 5 min, … 24 h) and the message is dead after the tenth attempt', async () => {
    receiver.answer = () => ({ status: 500, body: 'down for maintenance' });
    await registerEndpoint(t.database.db, receiver.url);
    await insertNotification(t.database.db);
    const clock = new TestClock();
    const d = makeDispatcher(t.database.db, clock);
    assert.equal(await d.runOnce(), 1, 'the first attempt is immediate');
    for (let k = 1; k < SPEC_DELAYS.length; k++) {
      clock.advance(SPEC_DELAYS[k]! - 1);
      assert.equal(await d.runOnce(), 0, `attempt ${k + 1} is not due before ${SPEC_DELAYS[k]} ms`);
      clock.advance(1);
      assert.equal(await d.runOnce(), 1, `attempt ${k + 1} is due after ${SPEC_DELAYS[k]} ms`);
    }
    const kept = await attempts(t.database.db);
    assert.equal(kept.length, 10, 'every attempt is kept');
    const gaps = kept.slice(1).map((a, i) => ms(a.attempted_at) - ms(kept[i]!.attempted_at));
    assert.deepEqual(gaps, SPEC_DELAYS.slice(1));
    assert.equal(kept[0]!.response_excerpt, 'down for maintenance');
    const [row] = await outbox(t.database.db);
    assert.equal(row!.state, 'dead');
    assert.equal(row!.attempts, 10);
    clock.advance(48 * 3600_000);
    assert.equal(await d.runOnce(), 0, 'a dead message is not sent again');
    assert.equal(receiver.received.length, 10);
    assert.equal(
      new Set(receiver.received.map((r) => r.headers['webhook-id'])).size,
      1,
      'one webhook-id for every retry',
    );
  });

  test('the jitter moves a retry within ±10 % of its delay', async () => {
    receiver.answer = () => ({ status: 500 });
    await registerEndpoint(t.database.db, receiver.url);
    await insertNotification(t.database.db);
    const d = makeDispatcher(t.database.db, new TestClock(), { random: () => 0 });
    await d.runOnce();
    const [due] = await queryRows<{ gap: string }>(
      t.database.db,
      sql`select extract(epoch from o.next_attempt_at - a.attempted_at) * 1000 as gap
          from webhook_outbox o join webhook_attempts a on a.outbox_id = o.id`,
    );
    assert.equal(Math.round(Number(due!.gap)), 4_500);
  });

  test("a Retry-After later than the schedule's delay is honoured", async () => {
    receiver.answer = (_r, n) =>
      n === 1 ? { status: 503, headers: { 'retry-after': '120' } } : { status: 200 };
    await registerEndpoint(t.database.db, receiver.url);
    await insertNotification(t.database.db);
    const clock = new TestClock();
    const d = makeDispatcher(t.database.db, clock);
    await d.runOnce();
    clock.advance(119_999);
    assert.equal(await d.runOnce(), 0, 'not at the schedule’s 5 s, nor before 120 s');
    clock.advance(1);
    assert.equal(await d.runOnce(), 1);
    assert.equal((await outbox(t.database.db))[0]!.state, 'delivered');
  });

  test('410 Gone disables the endpoint and keeps why; nothing more is sent to it', async () => {
    receiver.answer = () => ({ status: 410 });
    const { endpoint } = await registerEndpoint(t.database.db, receiver.url);
    await insertNotification(t.database.db);
    const clock = new TestClock();
    const d = makeDispatcher(t.database.db, clock);
    await d.runOnce();
    const [e] = await queryRows<{ enabled: boolean; disabled_reason: string }>(
      t.database.db,
      sql`select enabled, disabled_reason from webhook_endpoints where id = ${endpoint.id}`,
    );
    assert.equal(e!.enabled, false);
    assert.match(e!.disabled_reason, /^410 Gone from http:\/\/127\.0\.0\.1:\d+\/hooks at /);
    clock.advance(3600_000);
    await insertNotification(t.database.db);
    assert.equal(await d.runOnce(), 0);
    assert.equal(receiver.received.length, 1);
    assert.equal((await outbox(t.database.db)).length, 1, 'a disabled endpoint gets no new events');
  });

  test('no answer within the timeout is a failed attempt', async () => {
    receiver.answer = () => 'hold';
    await registerEndpoint(t.database.db, receiver.url);
    await insertNotification(t.database.db);
    const d = makeDispatcher(t.database.db, new TestClock(), { timeoutMs: 300 });
    await d.runOnce();
    const [a] = await attempts(t.database.db);
    assert.equal(a!.status_code, null);
    assert.match(a!.error!, /^timeout: no answer within 300 ms/);
    assert.equal((await outbox(t.database.db))[0]!.state, 'failed');
  });

  test('at most N requests are open to one endpoint, whichever worker claims', async () => {
    receiver.answer = () => 'hold';
    await registerEndpoint(t.database.db, receiver.url);
    for (let i = 0; i < 5; i++) await insertNotification(t.database.db);
    const clock = new TestClock();
    const first = makeDispatcher(t.database.db, clock, { maxInFlightPerEndpoint: 2 });
    const other = makeDispatcher(t.database.db, clock, { maxInFlightPerEndpoint: 2 });
    const pass = first.runOnce();
    await receiver.nth(2);
    assert.equal(await other.runOnce(), 0, 'the endpoint’s two slots are taken by the first worker’s leases');
    assert.equal(receiver.received.length, 2);
    receiver.answer = () => ({ status: 200 });
    for (const res of receiver.held.splice(0)) res.writeHead(200).end();
    assert.equal(await pass, 2);
    assert.equal(await other.runOnce(), 2);
    assert.equal(await first.runOnce(), 1);
    assert.deepEqual(
      (await outbox(t.database.db)).map((r) => r.state),
      ['delivered', 'delivered', 'delivered', 'delivered', 'delivered'],
    );
  });
});
