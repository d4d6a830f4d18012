import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { count, eq, inArray } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { deliveries, notifications } from '../../src/db/schema.ts';
import { insertUser, testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_test_batch_admin_key';
const context = getNotificationType('order_confirmed')!.sampleContext;

interface BatchResponse {
  created: number;
  replayed: number;
  failed: number;
  results: Array<{
    index: number;
    status: number;
    notification_id: string | null;
    deliveries?: Array<{ channel: string; status: string; skip_reason: string | null }>;
    error?: { code: string; detail: string; errors?: Array<{ field: string; message: string }> };
  }>;
}

describe(`POST /api/v1/notifications/batch (${ENGINE})`, () => {
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
    for (const id of ['b-1', 'b-2', 'b-3']) await insertUser(t.database.db, id);
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  const post = (body: unknown) =>
    fetch(`${app.url}/api/v1/notifications/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  const storedCount = async (ids: string[]) => {
    const [row] = await t.database.db
      .select({ n: count() })
      .from(notifications)
      .where(inArray(notifications.notificationId, ids));
    return row!.n;
  };

  test('each item gets its own result; the bad ones fail alone and the good ones are stored', async () => {
    const res = await post({
      notifications: [
        { user_id: 'b-1', type: 'order_confirmed', context },
        { user_id: 'nobody', type: 'order_confirmed', context },
        { user_id: 'b-2', type: 'no_such_type', context },
        { user_id: 'b-3', type: 'order_confirmed', context, colour: 'blue' },
        { user_id: 'b-3', type: 'order_confirmed', context: { ...context, order: { order_number: '' } } },
        'not an object',
        { user_id: 'b-2', type: 'order_confirmed', context, title: 'Your order is in' },
      ],
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as BatchResponse;
    assert.deepEqual(
      body.results.map((r) => [r.index, r.status, r.error?.code ?? null]),
      [
        [0, 201, null],
        [1, 404, 'USER_NOT_FOUND'],
        [2, 422, 'UNKNOWN_NOTIFICATION_TYPE'],
        [3, 400, 'VALIDATION_FAILED'],
        [4, 400, 'VALIDATION_FAILED'],
        [5, 400, 'VALIDATION_FAILED'],
        [6, 201, null],
      ],
    );
    assert.deepEqual([body.created, body.replayed, body.failed], [2, 0, 5]);
    assert.deepEqual(body.results[3]!.error!.errors, [
      { field: 'notifications.3.colour', message: 'is not a known field' },
    ]);
    assert.match(body.results[4]!.error!.detail, /^notifications\.4\.context\.order/);
    const created = body.results.filter((r) => r.status === 201).map((r) => r.notification_id!);
    assert.equal(await storedCount(created), 2);
    // Each created item says what became of its channels, as the single create does.
    assert.ok(body.results[0]!.deliveries!.some((d) => d.channel === 'in_app' && d.status === 'queued'));
    const [titled] = await t.database.db
      .select()
      .from(notifications)
      .where(eq(notifications.notificationId, created[1]!));
    assert.equal(titled!.title, 'Your order is in');
    const ds = await t.database.db.select().from(deliveries).where(eq(deliveries.notificationId, titled!.id));
    assert.ok(ds.length > 0, 'its deliveries were stored with it');
  });

  test('idempotency keys: a retried batch creates nothing twice, a key repeated in one batch is one notification, a reused key with other content is a conflict', async () => {
    const items = [
      { user_id: 'b-1', type: 'order_confirmed', context, idempotency_key: 'batch-k1' },
      { user_id: 'b-2', type: 'order_confirmed', context, idempotency_key: 'batch-k2' },
      { user_id: 'b-1', type: 'order_confirmed', context, idempotency_key: 'batch-k1' },
    ];
    const first = (await (await post({ notifications: items })).json()) as BatchResponse;
    assert.deepEqual(
      first.results.map((r) => r.status),
      [201, 201, 200],
    );
    assert.equal(first.results[2]!.notification_id, first.results[0]!.notification_id);

    const again = (await (
      await post({
        notifications: [
          ...items,
          { user_id: 'b-3', type: 'order_confirmed', context, idempotency_key: 'batch-k2' },
        ],
      })
    ).json()) as BatchResponse;
    assert.deepEqual(
      again.results.map((r) => r.status),
      [200, 200, 200, 409],
    );
    assert.deepEqual(
      again.results.slice(0, 3).map((r) => r.notification_id),
      first.results.map((r) => r.notification_id),
    );
    assert.equal(again.results[3]!.error!.code, 'IDEMPOTENCY_CONFLICT');
    assert.equal(await storedCount(first.results.map((r) => r.notification_id!)), 2);

    // The single create shares the keys: the same key there is the same notification.
    const single = await fetch(`${app.url}/api/v1/notifications`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        'content-type': 'application/json',
        'idempotency-key': 'batch-k2',
      },
      body: JSON.stringify({ user_id: 'b-2', type: 'order_confirmed', context }),
    });
    assert.equal(single.status, 200);
    assert.equal(
      ((await single.json()) as { notification_id: string }).notification_id,
      first.results[1]!.notification_id,
    );
  });

  test('the batch itself must be well formed: 1 to 1,000 items, nothing else, within its body limit', async () => {
    for (const body of [{}, { notifications: [] }, { notifications: [], extra: 1 }]) {
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(((await res.json()) as { code: string }).code, 'VALIDATION_FAILED');
    }
    const tooMany = await post({ notifications: Array.from({ length: 1001 }, () => ({})) });
    assert.equal(tooMany.status, 400);
    const tooBig = await post({
      notifications: [{ user_id: 'b-1', type: 'order_confirmed', context, message: 'x'.repeat(2_100_000) }],
    });
    assert.equal(tooBig.status, 413);
    const unauthenticated = await fetch(`${app.url}/api/v1/notifications/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ notifications: [{ user_id: 'b-1', type: 'order_confirmed', context }] }),
    });
    assert.equal(unauthenticated.status, 401);
  });

  test('1,000 items in one request are all stored, one notification each', async () => {
    const res = await post({
      notifications: Array.from({ length: 1000 }, (_, i) => ({
        user_id: `b-${(i % 3) + 1}`,
        type: 'order_confirmed',
        context,
        idempotency_key: `batch-thousand-${i}`,
      })),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as BatchResponse;
    assert.equal(body.created, 1000);
    assert.equal(new Set(body.results.map((r) => r.notification_id)).size, 1000);
    assert.equal(await storedCount(body.results.map((r) => r.notification_id!)), 1000);
  });
});
