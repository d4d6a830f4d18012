import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, inArray, sql } from 'drizzle-orm';
import pg from 'pg';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { queryRows } from '../../src/db/database.ts';
import { idempotencyKeys, notificationPreferences } from '../../src/db/schema.ts';
import { insertUser, testConfig, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

/**
 * What the bulk path newly risks: its reads are made for the whole batch before any item is
 * stored and all items are written by one call, so keys, caps and concurrent batches are decided
 * per set, not per item (docs/batches.md).
 */
const ADMIN_KEY = 'lcn_test_batch_bulk_admin_key';
const context = getNotificationType('order_picked_up')!.sampleContext;

interface BatchResponse {
  results: Array<{
    index: number;
    status: number;
    notification_id: string | null;
    deliveries?: Array<{ channel: string; status: string; skip_reason: string | null }>;
    error?: { code: string };
  }>;
}

describe(`the batch's bulk reads and write (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    // No worker: a queued SMS stays queued, and counts against its user's cap as it will be sent.
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY, SMS_DAILY_CAP_PER_USER: '2' }),
      api: true,
      worker: false,
      database: t.database,
    });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${app.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const batch = async (notifications: unknown[]) => {
    const res = await post('/api/v1/notifications/batch', { notifications });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as unknown as BatchResponse;
  };
  const item = (user: string, key?: string, extra: Record<string, unknown> = {}) => ({
    user_id: user,
    type: 'order_picked_up',
    context,
    ...(key && { idempotency_key: key }),
    ...extra,
  });
  const notificationsWithKeys = async (keys: string[]) => {
    const rows = await t.database.db
      .select({ key: idempotencyKeys.key, response: idempotencyKeys.response })
      .from(idempotencyKeys)
      .where(inArray(idempotencyKeys.key, keys));
    return new Map(rows.map((r) => [r.key, String(r.response?.['notification_id'])]));
  };

  test('one batch mixing new items, replays, repeats and conflicts: each item its own answer, only the new ones stored', async () => {
    await insertUser(t.database.db, 'mix-1');
    const single = await post('/api/v1/notifications', item('mix-1'), { 'idempotency-key': 'mix-held' });
    assert.equal(single.status, 201);
    const held = String(single.body['notification_id']);

    const res = await batch([
      item('mix-1'),
      item('mix-1', 'mix-held'),
      item('mix-1', 'mix-held', { title: 'other content' }),
      item('mix-1', 'mix-new'),
      item('mix-1', 'mix-new'),
      item('mix-1', 'mix-new', { title: 'other content' }),
      item('nobody', 'mix-nobody'),
      item('mix-1', 'mix-new-2'),
    ]);
    assert.deepEqual(
      res.results.map((r) => [r.status, r.error?.code ?? null]),
      [
        [201, null],
        [200, null],
        [409, 'IDEMPOTENCY_CONFLICT'],
        [201, null],
        [200, null],
        [409, 'IDEMPOTENCY_CONFLICT'],
        [404, 'USER_NOT_FOUND'],
        [201, null],
      ],
    );
    assert.equal(
      res.results[1]!.notification_id,
      held,
      'a key held before the batch is its first notification',
    );
    assert.equal(
      res.results[4]!.notification_id,
      res.results[3]!.notification_id,
      'a repeat is its first item',
    );
    const byKey = await notificationsWithKeys(['mix-held', 'mix-new', 'mix-nobody', 'mix-new-2']);
    assert.deepEqual(Object.fromEntries(byKey), {
      'mix-held': held,
      'mix-new': res.results[3]!.notification_id,
      'mix-new-2': res.results[7]!.notification_id,
    });
    assert.ok(res.results[0]!.deliveries!.some((d) => d.channel === 'in_app' && d.status === 'queued'));
  });

  test('concurrent batches sharing keys in opposite orders: no deadlock, each key one notification', async () => {
    const users = ['race-1', 'race-2', 'race-3'];
    for (const u of users) await insertUser(t.database.db, u);
    const keys = Array.from({ length: 150 }, (_, i) => `race-${String(i).padStart(3, '0')}`);
    const items = keys.map((k, i) => item(users[i % users.length]!, k));
    // Four batches over the same keys, two in each order: without key-ordered claims two of them
    // would each hold a key the other waits for.
    const answers = await Promise.all(
      [items, [...items].reverse(), items, [...items].reverse()].map((list) => batch(list)),
    );
    const stored = await notificationsWithKeys(keys);
    assert.equal(stored.size, keys.length);
    for (const [b, answer] of answers.entries()) {
      const order = b % 2 === 0 ? keys : [...keys].reverse();
      answer.results.forEach((r, i) => {
        assert.ok(r.status === 201 || r.status === 200, `batch ${b} item ${i}: ${r.status}`);
        assert.equal(r.notification_id, stored.get(order[i]!), `batch ${b} item ${i}`);
      });
    }
    const created = answers.flatMap((a) => a.results.filter((r) => r.status === 201));
    assert.equal(created.length, keys.length, 'each key created once across the four batches');
    const [row] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from notifications n join users u on u.id = n.user_id
          where u.external_id in ('race-1', 'race-2', 'race-3')`,
    );
    assert.equal(row!.n, keys.length);
  });

  test("a batch's own earlier SMS count against its user's daily cap, as stored ones do", async () => {
    for (const id of ['cap-1', 'cap-2']) {
      const user = await insertUser(t.database.db, id, { phone: '+919876543210' });
      await t.database.db
        .insert(notificationPreferences)
        .values({ userId: user.id, category: 'order_updates', channel: 'sms', enabled: true });
    }
    // One SMS already stored for cap-1 (queued: it will be sent); the cap is 2 a day.
    const first = await post('/api/v1/notifications', item('cap-1'));
    assert.equal(first.status, 201);
    // A critical type is exempt from the cap (SMS_CAP_EXEMPT_CRITICAL), and its SMS counts as sent.
    const critical = { type: 'order_confirmed' };
    const res = await batch([
      item('cap-1'),
      item('cap-2'),
      item('cap-1'),
      item('cap-1', undefined, critical),
      item('cap-1'),
      item('cap-2'),
    ]);
    const sms = res.results.map((r) => {
      const d = r.deliveries!.find((x) => x.channel === 'sms')!;
      return `${d.status}${d.skip_reason ? `:${d.skip_reason}` : ''}`;
    });
    assert.deepEqual(sms, [
      'queued',
      'queued',
      'skipped:cap_reached',
      'queued',
      'skipped:cap_reached',
      'queued',
    ]);
  });

  /** The scope the route gives this test's API key (the single create's scope), found once. */
  let scope: Promise<string> | undefined;
  const apiKeyScope = () => {
    scope ??= (async () => {
      await insertUser(t.database.db, 'scope-probe');
      assert.equal((await batch([item('scope-probe', 'scope-probe')])).results[0]!.status, 201);
      const [row] = await t.database.db
        .select({ scope: idempotencyKeys.scope })
        .from(idempotencyKeys)
        .where(eq(idempotencyKeys.key, 'scope-probe'));
      return row!.scope;
    })();
    return scope;
  };
  /** Another request's transaction holding a key, not yet committed. */
  const holdKey = async (scope: string, key: string) => {
    const other = new pg.Client({ connectionString: t.url });
    await other.connect();
    await other.query('begin');
    await other.query(
      `insert into idempotency_keys (scope, key, request_hash, response)
       values ($1, $2, 'another request', '{"notification_id": "ntf_other"}')`,
      [scope, key],
    );
    return other;
  };
  const batchesWaitingOnKeys = (n: number) =>
    waitFor(
      async () => {
        const [w] = await queryRows<{ n: number }>(
          t.database.db,
          sql`select count(*)::int as n from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'
                and query like '%lc_insert_notifications%'`,
        );
        return w!.n >= n;
      },
      10_000,
      `${n} batch(es) waiting on a held key`,
    );
  const pgOnly = {
    skip: ENGINE === 'pglite' && 'PGlite has one connection: no other request can hold a key meanwhile',
  };

  test(
    'a key taken by a concurrent request while the batch is being decided: that item is a conflict, the rest are stored',
    pgOnly,
    async () => {
      const scope = await apiKeyScope();
      await insertUser(t.database.db, 'lock-1');
      // The batch reads no holder, decides the item, and its write waits on the key.
      const other = await holdKey(scope, 'lock-taken');
      try {
        const pending = batch([
          item('lock-1', 'lock-a'),
          item('lock-1', 'lock-taken'),
          item('lock-1', 'lock-b'),
        ]);
        await batchesWaitingOnKeys(1);
        await other.query('commit');
        const res = await pending;
        assert.deepEqual(
          res.results.map((r) => [r.status, r.error?.code ?? null]),
          [
            [201, null],
            [409, 'IDEMPOTENCY_CONFLICT'],
            [201, null],
          ],
        );
        const stored = await notificationsWithKeys(['lock-a', 'lock-taken', 'lock-b']);
        assert.equal(stored.get('lock-taken'), 'ntf_other');
        assert.equal(stored.get('lock-a'), res.results[0]!.notification_id);
        assert.equal(stored.get('lock-b'), res.results[2]!.notification_id);
      } finally {
        await other.end();
      }
    },
  );

  test(
    'two batches claiming shared keys at the same moment, listed in opposite orders, do not deadlock',
    pgOnly,
    async () => {
      const scope = await apiKeyScope();
      await insertUser(t.database.db, 'order-1');
      // order-0 is held elsewhere; batch a lists order-1, order-0, order-2 and batch b order-2,
      // order-0, order-1. Claimed in list order, a would hold order-1 and b order-2 while both
      // wait for order-0, and whichever got it next would wait for the other's key: a deadlock.
      // Claimed in key order, both wait for order-0 holding nothing, then one after the other.
      const other = await holdKey(scope, 'order-0');
      try {
        const lists = [
          ['order-1', 'order-0', 'order-2'],
          ['order-2', 'order-0', 'order-1'],
        ];
        const keys = lists[0]!;
        const pending = lists.map((ks) => batch(ks.map((k) => item('order-1', k))));
        await batchesWaitingOnKeys(2);
        await other.query('rollback');
        const [a, b] = await Promise.all(pending);
        const stored = await notificationsWithKeys(keys);
        assert.equal(stored.size, 3);
        assert.deepEqual(
          a!.results.map((r) => r.notification_id),
          keys.map((k) => stored.get(k)),
        );
        assert.deepEqual(
          b!.results.map((r) => r.notification_id),
          lists[1]!.map((k) => stored.get(k)),
        );
        assert.deepEqual(
          [...a!.results, ...b!.results].map((r) => r.status).sort(),
          [200, 200, 200, 201, 201, 201],
        );
      } finally {
        await other.end();
      }
    },
  );
});
