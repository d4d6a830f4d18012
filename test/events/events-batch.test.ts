import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { notifications, users } from '../../src/db/schema.ts';
import { insertUser, testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_test_events_batch_admin_key';
const sample = (type: string) => getNotificationType(type)!.sampleContext;
const confirmed = (customer: string, extra: Record<string, unknown> = {}) => ({
  type: 'order.status_changed',
  customer_id: customer,
  data: { ...sample('order_confirmed'), status: 'confirmed' },
  ...extra,
});
const cancelled = (customer: string | undefined, partner: string | undefined, extra = {}) => ({
  type: 'order.status_changed',
  ...(customer && { customer_id: customer }),
  ...(partner && { partner_id: partner }),
  data: { ...sample('order_cancelled'), status: 'cancelled' },
  ...extra,
});

interface Outcome {
  recipient: string;
  user_id: string;
  type: string;
  notification_id: string;
  created: boolean;
}
interface EventResult {
  index: number;
  status: number;
  event_id: string | null;
  type: string | null;
  notifications: Outcome[];
  error?: {
    code: string;
    detail: string;
    errors?: Array<{ field: string; message: string }>;
    accepted?: string[];
  };
}
interface BatchResponse {
  created: number;
  replayed: number;
  failed: number;
  results: EventResult[];
}

describe(`POST /api/v1/events/batch (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    // No worker: what the batch stored is looked at as it was stored.
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY, BATCH_BODY_LIMIT_BYTES: '2000000' }),
      api: true,
      worker: false,
      database: t.database,
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
  const postBatch = (body: unknown) =>
    fetch(`${app.url}/api/v1/events/batch`, { method: 'POST', headers, body: JSON.stringify(body) });
  const batch = async (events: unknown[]) => {
    const res = await postBatch({ events });
    assert.equal(res.status, 200);
    return (await res.json()) as BatchResponse;
  };
  const single = async (event: unknown, key?: string) => {
    const res = await fetch(`${app.url}/api/v1/events`, {
      method: 'POST',
      headers: { ...headers, ...(key && { 'idempotency-key': key }) },
      body: JSON.stringify(event),
    });
    return { status: res.status, body: (await res.json()) as { notifications?: Outcome[]; code?: string } };
  };
  /** The notifications stored for a user, by the marketplace's id. */
  const storedFor = async (externalId: string) => {
    const rows = await t.database.db
      .select({ id: notifications.notificationId })
      .from(notifications)
      .innerJoin(users, eq(users.id, notifications.userId))
      .where(eq(users.externalId, externalId));
    return rows.map((r) => r.id).sort();
  };
  const ids = (r: EventResult) => r.notifications.map((n) => n.notification_id);

  test('each event gets its own result as the single route would answer it; exactly the valid ones are stored', async () => {
    await insertUser(t.database.db, 'eb-c1');
    await insertUser(t.database.db, 'eb-c2');
    await insertUser(t.database.db, 'eb-p1', { role: 'partner' });
    const created = sample('order_created') as { order: Record<string, unknown> };
    const body = await batch([
      confirmed('eb-c1', { id: 'eb-evt-0' }),
      {
        type: 'order.created',
        customer_id: 'eb-c2',
        data: { order: { ...created.order, order_number: ' ' } },
      },
      { type: 'order.teleported', customer_id: 'eb-c2', data: {} },
      { type: 'payment.completed', customer_id: 'eb-nobody', data: sample('payment_completed') },
      cancelled('eb-c2', undefined),
      confirmed('eb-c2', { colour: 'blue' }),
      'not an event',
      cancelled('eb-c1', 'eb-p1', { id: 'eb-evt-7' }),
      { type: 'order.status_changed', customer_id: 'eb-c2', data: { status: 'lost' } },
    ]);
    assert.deepEqual(
      body.results.map((r) => [r.index, r.status, r.error?.code ?? null, r.notifications.length]),
      [
        [0, 202, null, 1],
        [1, 400, 'VALIDATION_FAILED', 0],
        [2, 422, 'UNKNOWN_EVENT_TYPE', 0],
        [3, 404, 'USER_NOT_FOUND', 0],
        [4, 400, 'VALIDATION_FAILED', 0],
        [5, 400, 'VALIDATION_FAILED', 0],
        [6, 400, 'VALIDATION_FAILED', 0],
        [7, 202, null, 2],
        [8, 422, 'UNKNOWN_EVENT_TYPE', 0],
      ],
    );
    assert.deepEqual([body.created, body.replayed, body.failed], [2, 0, 7]);
    // The fields are named as the single route names them, under the event's place in the batch.
    const fields = (i: number) => body.results[i]!.error!.errors?.map((e) => e.field);
    assert.deepEqual(fields(1), ['events.1.data.order.order_number']);
    assert.deepEqual(fields(4), ['events.4.partner_id']);
    assert.deepEqual(fields(5), ['events.5.colour']);
    assert.deepEqual(fields(6), ['events.6']);
    assert.ok(body.results[2]!.error!.accepted!.includes('payment.completed'));
    assert.deepEqual(
      [body.results[0]!.event_id, body.results[0]!.type, body.results[6]!.event_id, body.results[6]!.type],
      ['eb-evt-0', 'order.status_changed', null, null],
    );
    assert.deepEqual(
      body.results[7]!.notifications.map((n) => [n.recipient, n.user_id, n.type, n.created]),
      [
        ['customer', 'eb-c1', 'order_cancelled', true],
        ['partner', 'eb-p1', 'order_cancelled', true],
      ],
    );
    assert.deepEqual(await storedFor('eb-c1'), [...ids(body.results[0]!), ids(body.results[7]!)[0]!].sort());
    assert.deepEqual(await storedFor('eb-p1'), [ids(body.results[7]!)[1]!]);
    assert.deepEqual(await storedFor('eb-c2'), [], 'none of the failed events notified anybody');
  });

  test("an event whose partner is unknown fails as the single route fails it, with the customer's notification stored and listed", async () => {
    await insertUser(t.database.db, 'eb-c3');
    const first = (await batch([cancelled('eb-c3', 'eb-ghost', { idempotency_key: 'eb-partial' })]))
      .results[0]!;
    assert.equal(first.status, 404);
    assert.equal(first.error!.code, 'USER_NOT_FOUND');
    assert.match(first.error!.detail, /eb-ghost/);
    assert.deepEqual(
      first.notifications.map((n) => [n.recipient, n.created]),
      [['customer', true]],
    );
    assert.deepEqual(await storedFor('eb-c3'), ids(first));
    // Retried: the customer's is replayed, the partner still fails.
    const again = (await batch([cancelled('eb-c3', 'eb-ghost', { idempotency_key: 'eb-partial' })]))
      .results[0]!;
    assert.deepEqual([again.status, ids(again), again.notifications[0]!.created], [404, ids(first), false]);
    // The single route does the same: the customer is notified, the answer is the partner's 404.
    const one = await single(cancelled('eb-c3', 'eb-ghost'), 'eb-partial-single');
    assert.deepEqual([one.status, one.body.code], [404, 'USER_NOT_FOUND']);
    assert.equal((await storedFor('eb-c3')).length, 2);
  });

  test('a retried batch creates nothing new: every event answers 200 with the same notifications', async () => {
    await insertUser(t.database.db, 'eb-c4');
    await insertUser(t.database.db, 'eb-p4', { role: 'partner' });
    const events = [
      confirmed('eb-c4', { idempotency_key: 'eb-retry-1' }),
      cancelled('eb-c4', 'eb-p4', { idempotency_key: 'eb-retry-2' }),
      // No key: the event's id is its key, as on the single route.
      {
        type: 'payment.completed',
        customer_id: 'eb-c4',
        id: 'eb-retry-3',
        data: sample('payment_completed'),
      },
      // The same key and content twice in one batch is one notification.
      confirmed('eb-c4', { idempotency_key: 'eb-retry-1' }),
    ];
    const first = await batch(events);
    assert.deepEqual(
      first.results.map((r) => r.status),
      [202, 202, 202, 200],
    );
    assert.deepEqual(ids(first.results[3]!), ids(first.results[0]!));
    const stored = await storedFor('eb-c4');
    assert.equal(stored.length, 3);

    const again = await batch([
      ...events,
      // The key again with other content: a conflict for that event alone.
      confirmed('eb-c4', { idempotency_key: 'eb-retry-2' }),
    ]);
    assert.deepEqual(
      again.results.map((r) => r.status),
      [200, 200, 200, 200, 409],
    );
    assert.equal(again.results[4]!.error!.code, 'IDEMPOTENCY_CONFLICT');
    assert.deepEqual([again.created, again.replayed, again.failed], [0, 4, 1]);
    assert.deepEqual(again.results.slice(0, 4).map(ids), first.results.map(ids));
    assert.ok(again.results.flatMap((r) => r.notifications).every((n) => !n.created));
    assert.deepEqual(await storedFor('eb-c4'), stored);
    assert.equal((await storedFor('eb-p4')).length, 1);
  });

  test('a key is shared with the single route: the same key there and here is the same notification', async () => {
    await insertUser(t.database.db, 'eb-c5');
    const viaSingle = await single(confirmed('eb-c5'), 'eb-shared-1');
    assert.equal(viaSingle.status, 202);
    const viaBatch = await batch([
      confirmed('eb-c5', { idempotency_key: 'eb-shared-1' }),
      confirmed('eb-c5', { idempotency_key: 'eb-shared-2' }),
      confirmed('eb-c5', { id: 'eb-shared-3' }),
    ]);
    assert.deepEqual(
      viaBatch.results.map((r) => r.status),
      [200, 202, 202],
    );
    assert.deepEqual(
      ids(viaBatch.results[0]!),
      viaSingle.body.notifications!.map((n) => n.notification_id),
    );
    const back = await single(confirmed('eb-c5'), 'eb-shared-2');
    assert.equal(back.status, 200);
    assert.deepEqual(
      back.body.notifications!.map((n) => n.notification_id),
      ids(viaBatch.results[1]!),
    );
    const byId = await single(confirmed('eb-c5', { id: 'eb-shared-3' }));
    assert.equal(byId.status, 200);
    assert.deepEqual(
      byId.body.notifications!.map((n) => n.notification_id),
      ids(viaBatch.results[2]!),
    );
    assert.equal((await storedFor('eb-c5')).length, 3);
  });

  test('the batch itself must be well formed: 1 to 1,000 events, nothing else, within its body limit', async () => {
    for (const body of [{}, { events: [] }, { events: [confirmed('eb-c1')], extra: 1 }, { events: {} }]) {
      const res = await postBatch(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(((await res.json()) as { code: string }).code, 'VALIDATION_FAILED');
    }
    await insertUser(t.database.db, 'eb-c6');
    const tooMany = await postBatch({ events: Array.from({ length: 1001 }, () => confirmed('eb-c6')) });
    assert.equal(tooMany.status, 400);
    const tooBig = await postBatch({ events: [confirmed('eb-c6', { id: 'x'.repeat(2_100_000) })] });
    assert.equal(tooBig.status, 413);
    const unauthenticated = await fetch(`${app.url}/api/v1/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [confirmed('eb-c6')] }),
    });
    assert.equal(unauthenticated.status, 401);
    assert.deepEqual(await storedFor('eb-c6'), [], 'a refused batch notifies nobody');
  });

  test('a batch counts as one request for the rate limit, however many events it holds', async () => {
    await insertUser(t.database.db, 'eb-c7');
    const remaining = async () => {
      const res = await postBatch({ events: Array.from({ length: 5 }, () => confirmed('eb-c7')) });
      assert.equal(res.status, 200);
      return Number(res.headers.get('x-ratelimit-remaining'));
    };
    const before = await remaining();
    assert.equal(before - (await remaining()), 1);
  });

  test('1,000 events in one request are all handled: one notification per recipient', async () => {
    await insertUser(t.database.db, 'eb-c8');
    await insertUser(t.database.db, 'eb-p8', { role: 'partner' });
    // Every tenth a cancelled order, so 1,100 notifications go to the one batch.
    const events = Array.from({ length: 1000 }, (_, i) =>
      i % 10 === 0
        ? cancelled('eb-c8', 'eb-p8', { idempotency_key: `eb-thousand-${i}` })
        : confirmed('eb-c8', { idempotency_key: `eb-thousand-${i}` }),
    );
    const started = performance.now();
    const body = await batch(events);
    const ms = performance.now() - started;
    assert.equal(body.created, 1000);
    const all = body.results.flatMap(ids);
    assert.equal(new Set(all).size, 1100);
    assert.equal((await storedFor('eb-c8')).length, 1000);
    assert.equal((await storedFor('eb-p8')).length, 100);
    // A figure for the report, not an assertion: the machine's load decides it.
    console.log(`# ${ENGINE}: 1,000 events (1,100 notifications) in ${Math.round(ms)} ms`);
  });
});
