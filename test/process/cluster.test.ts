import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/database.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { connectWithHeader, ofType } from '../inbox/ws-client.ts';
import { seed } from '../stats/fixture.ts';
import { type CliProcess, runCli } from './cli.ts';
import {
  ADMIN_KEY,
  arrivalsByOrder,
  type ClusterNode,
  newStats,
  orderOf,
  phoneOf,
  SID,
  startFrontProxy,
  startNode,
  stopNode,
  submitOne,
  TOKEN,
} from './cluster.ts';

// Several processes on one database is the PostgreSQL deployment; PGlite allows one process.
const skip = ENGINE === 'pglite';
const USERS = 600;
const RETENTION_INTERVAL_MS = 60_000;
const DRAIN_MS = 60_000;

const body = (tag: string, i: number) => ({
  user_id: `cl-${i % USERS}`,
  type: 'order_confirmed',
  context: { order: { order_number: orderOf(tag, i), pickup_date: 'Sat 9-11' } },
});

describe('a cluster: 2 api + 3 worker processes on one PostgreSQL database', {
  skip,
  concurrency: false,
}, () => {
  let t: TestDatabase;
  let sandbox: CliProcess;
  let sandboxUrl: string;
  let proxy: Awaited<ReturnType<typeof startFrontProxy>>;
  const apis: ClusterNode[] = [];
  const workers: ClusterNode[] = [];
  const all = () => [...workers, ...apis];
  // retention_state as seen while the cluster runs: one entry per pass that started.
  const passes = new Map<string, { finished: string | null; deleted: Record<string, number> | null }>();
  let sampling = true;
  let sampler: Promise<void> = Promise.resolve();

  /** Every SMS delivery of `tag`'s notifications, with its order number. */
  const smsOf = (tag: string) =>
    queryRows<{ order: string; status: string; sid: string | null }>(
      t.database.db,
      sql`select n.context->'order'->>'order_number' as order, d.status, d.provider_message_id as sid
          from deliveries d join notifications n on n.id = d.notification_id
          where d.channel = 'sms' and n.context->'order'->>'order_number' like ${`${tag}%`}`,
    );

  /** Waits until every one of `orders` reached the sandbox and its SMS delivery is `delivered`. */
  async function drained(tag: string, orders: string[]) {
    try {
      await waitFor(
        async () => {
          const rows = await smsOf(tag);
          return rows.length === orders.length && rows.every((r) => r.status === 'delivered');
        },
        DRAIN_MS,
        `${orders.length} SMS of ${tag} delivered`,
      );
    } catch (err) {
      // Where they are stuck, for the failure message.
      const rows = await smsOf(tag);
      const byStatus: Record<string, string[]> = {};
      for (const r of rows) {
        byStatus[r.status] = [...(byStatus[r.status] ?? []), r.order];
      }
      const notDelivered = Object.entries(byStatus).filter(([s]) => s !== 'delivered');
      const arrived = await arrivalsByOrder(sandboxUrl, tag);
      throw new Error(
        `${(err as Error).message}: ${rows.length} deliveries, not delivered ${JSON.stringify(notDelivered).slice(0, 2000)}; ` +
          `arrived ${arrived.size}; missing deliveries ${JSON.stringify(orders.filter((o) => !rows.some((r) => r.order === o)).slice(0, 50))}`,
      );
    }
    const arrived = await arrivalsByOrder(sandboxUrl, tag);
    const missing = orders.filter((o) => !arrived.has(o));
    const twice = [...arrived].filter(([, n]) => n > 1).map(([o, n]) => `${o}×${n}`);
    const unknown = [...arrived.keys()].filter((o) => !orders.includes(o));
    assert.deepEqual({ missing, twice, unknown }, { missing: [], twice: [], unknown: [] });
    const rows = await smsOf(tag);
    assert.deepEqual(
      rows.map((r) => r.order).sort(),
      [...orders].sort(),
      'one SMS delivery per notification',
    );
  }

  before(async () => {
    t = await createTestDatabase();
    const db = t.database.db;
    await db.execute(sql`
      insert into users (external_id, phone, first_name)
      select 'cl-' || g, '+9198770' || lpad(g::text, 5, '0'), 'Asha' from generate_series(0, ${USERS - 1}) g`);
    await db.execute(sql`
      insert into notification_preferences (user_id, category, channel, enabled)
      select id, 'order_updates', 'sms', true from users where external_id like 'cl-%'`);
    assert.equal(phoneOf(1), '+919877000001');
    // Four finished notifications 40 days old: retention's first pass deletes them, and only one pass may.
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await seed(
      db,
      Array.from({ length: 4 }, () => ({
        type: 'order_confirmed',
        createdAt: old,
        deliveries: [
          { channel: 'sms' as const, status: 'delivered' as const, segments: 1 },
          { channel: 'in_app' as const, status: 'delivered' as const },
        ],
      })),
    );
    await db.execute(sql`insert into delivery_status_history (delivery_id, from_status, to_status, created_at)
                         select id, null, status, created_at from deliveries`);
    // What autovacuum does: without statistics the rollup's seal before retention's first pass
    // plans its statements over these 40 days as if the tables were large (minutes, in which a
    // worker's SIGTERM waits for the pass: the seal is not abortable between batches).
    await db.execute(sql`analyze`);

    sandbox = runCli([
      'sandbox',
      '--port',
      '0',
      '--account-sid',
      SID,
      '--auth-token',
      TOKEN,
      '--step-ms',
      '20',
    ]);
    sandboxUrl = (await sandbox.waitForOutput(/Twilio sandbox listening on (http:\/\/\S+)/))[1]!;
    proxy = await startFrontProxy(() => apis);
    const env = {
      DATABASE_URL: t.url!,
      ADMIN_API_KEY: ADMIN_KEY,
      USER_TOKEN_SECRET: 'cluster-test-user-token-secret-0123456789',
      PUBLIC_URL: proxy.url,
      SMS_BACKEND: 'sandbox',
      SMS_SANDBOX_URL: sandboxUrl,
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: TOKEN,
      QUIET_HOURS_DEFAULT: 'off',
      RATE_LIMIT_PER_MINUTE: '10000000',
      WORKER_POLL_MS: '200',
      // A callback lost in a restart is repaired by the sweep asking the provider.
      SMS_STATUS_SWEEP_MS: '2000',
      SMS_STATUS_STALE_MS: '5000',
      RETENTION_DAYS: '30',
      RETENTION_INTERVAL_MS: String(RETENTION_INTERVAL_MS),
      RETENTION_BATCH_PAUSE_MS: '0',
    };
    sampler = (async () => {
      while (sampling) {
        const [row] = await queryRows<{ s: string; f: string | null; d: Record<string, number> | null }>(
          t.database.db,
          sql`select to_json(last_started_at) #>> '{}' as s, to_json(last_finished_at) #>> '{}' as f, last_deleted as d
              from retention_state`,
        );
        // Until a pass finishes, the row still shows the previous pass's finish and counts.
        const done = row?.f != null && Date.parse(row.f) >= Date.parse(row.s);
        if (row)
          passes.set(row.s, done ? { finished: row.f, deleted: row.d } : { finished: null, deleted: null });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // The API nodes first (they migrate, one at a time), then the workers, all three at once.
    for (const name of ['apiA', 'apiB'])
      apis.push(await startNode({ name, command: 'api', env: { ...env, PORT: '0' } }));
    workers.push(
      ...(await Promise.all(
        ['w1', 'w2', 'w3'].map((name) =>
          startNode({ name, command: 'worker', env: { ...env, WORKER_ID: name } }),
        ),
      )),
    );
  });

  after(async () => {
    sampling = false;
    await sampler.catch(() => {});
    for (const n of all()) n.proc?.kill();
    sandbox?.kill();
    await proxy?.close();
    await t?.close();
  });

  test('notifications POSTed round-robin to both api nodes reach the sandbox exactly once each, all delivered', async (ctx) => {
    const stats = newStats();
    const orders = Array.from({ length: 200 }, (_, i) => orderOf('P1-', i));
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < orders.length; i = next++) {
          await submitOne(() => apis, apis[i % 2]!, `p1-${i}`, body('P1-', i), stats);
        }
      }),
    );
    assert.equal(stats.created, orders.length, JSON.stringify(stats));
    await drained('P1-', orders);
    // Joined the other way too: each delivery's provider id is one message at the sandbox.
    const res = await fetch(`${sandboxUrl}/sandbox/messages?limit=1000000`);
    const sids = new Set(((await res.json()) as { messages: { sid: string }[] }).messages.map((m) => m.sid));
    const rows = await smsOf('P1-');
    assert.equal(new Set(rows.map((r) => r.sid)).size, rows.length);
    for (const r of rows) assert.ok(r.sid && sids.has(r.sid), `${r.order}: ${r.sid} at the sandbox`);
    ctx.diagnostic(`front proxy: ${JSON.stringify(proxy.stats())}`);
  });

  test('the live inbox reaches a user connected to api node A when the notification is POSTed to node B', async (ctx) => {
    const [a, b] = apis as [ClusterNode, ClusterNode];
    const tokenRes = await fetch(`${a.url}/api/v1/users/cl-7/token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    assert.equal(tokenRes.status, 201, await tokenRes.clone().text());
    const { token } = (await tokenRes.json()) as { token: string };
    const socket = await connectWithHeader(ctx, a.url, token);
    const id = await submitOne(() => [b], b, 'ws-1', body('WS-', 7), newStats());
    const got = await socket.next(
      (m) => ofType('notification')(m) && m.notification?.notification_id === id,
      60_000,
    );
    assert.equal(got.notification.title, 'Order confirmed');
  });

  test('a rolling restart of every process under load loses and duplicates no SMS', async (ctx) => {
    const stats = newStats();
    const orders: string[] = [];
    let loading = true;
    let rr = 0;
    // One numbering for the stream and the test's own POSTs: each order number is one key.
    let seq = 0;
    // A steady stream (about 20/s, a few in flight) to the api nodes that are up; a refusal goes to the other.
    const load = (async () => {
      const inFlight = new Set<Promise<string>>();
      while (loading) {
        const i = seq++;
        const up = apis.filter((n) => n.up);
        const target = up[rr++ % Math.max(1, up.length)] ?? apis[0]!;
        orders.push(orderOf('P3-', i));
        const p = submitOne(() => apis, target, `p3-${i}`, body('P3-', i), stats);
        inFlight.add(p);
        p.finally(() => inFlight.delete(p)).catch(() => {});
        if (inFlight.size >= 4) await Promise.race(inFlight).catch(() => {});
        await new Promise((r) => setTimeout(r, 50));
      }
      await Promise.all(inFlight);
    })();
    const codes: Record<string, number | string> = {};
    try {
      for (const node of [...workers, ...apis]) {
        const before = stats.created;
        const oldUrl = node.url;
        codes[node.name] = await stopNode(node);
        if (node.command === 'api') {
          // What a client that did not notice the restart does: its POST is refused, and it
          // retries on the other node with the same key.
          const i = seq++;
          orders.push(orderOf('P3-', i));
          await submitOne(() => apis, { ...node, url: oldUrl }, `p3-${i}`, body('P3-', i), stats);
        }
        await startNode(node);
        // The cluster kept accepting while this node was away.
        await waitFor(
          async () => stats.created > before + 5,
          60_000,
          `notifications accepted past ${node.name}`,
        );
      }
    } finally {
      loading = false;
      await load;
    }
    assert.deepEqual(codes, { w1: 0, w2: 0, w3: 0, apiA: 0, apiB: 0 }, 'each stopped cleanly');
    ctx.diagnostic(`${orders.length} notifications, client: ${JSON.stringify(stats)}`);
    assert.ok(stats.retriedElsewhere >= 2, 'a refused POST was retried on the other node');
    assert.equal(stats.created + stats.replayed, orders.length);
    await drained('P3-', orders);
    const [n] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from notifications where context->'order'->>'order_number' like 'P3-%'`,
    );
    assert.equal(n!.n, orders.length, 'one notification per idempotency key');
    ctx.diagnostic(`front proxy: ${JSON.stringify(proxy.stats())}`);
  });

  test('retention runs once per period across the three workers (a lock and its last run)', async (ctx) => {
    // Two passes at least: the first at start (three workers tried at once, each restarted worker
    // tried again), the next a period later.
    await waitFor(
      async () => passes.size >= 2 && [...passes.values()].every((p) => p.finished),
      3 * RETENTION_INTERVAL_MS,
      'two retention passes',
    );
    const runs = [...passes].map(([s, p]) => ({
      start: Date.parse(s),
      end: Date.parse(p.finished!),
      deleted: p.deleted!,
    }));
    runs.sort((x, y) => x.start - y.start);
    ctx.diagnostic(`retention passes: ${JSON.stringify([...passes])}`);
    // The job's rule (a pass skips when one finished within 90% of the interval), held cluster-wide.
    for (let i = 1; i < runs.length; i++) {
      const gap = runs[i]!.start - runs[i - 1]!.end;
      assert.ok(
        gap >= RETENTION_INTERVAL_MS * 0.9,
        `pass ${i} started ${gap} ms after pass ${i - 1} finished`,
      );
    }
    assert.deepEqual(
      { n: runs[0]!.deleted['notifications'], d: runs[0]!.deleted['deliveries'] },
      { n: 4, d: 8 },
      'the first pass deleted the old notifications',
    );
    for (const r of runs.slice(1))
      assert.equal(r.deleted['notifications'], 0, 'nothing left for later passes');
    const [left] = await queryRows<{ n: number }>(
      t.database.db,
      sql`select count(*)::int as n from notifications where created_at < now() - interval '30 days'`,
    );
    assert.equal(left!.n, 0);
  });
});
