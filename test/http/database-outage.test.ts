import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import { type RunningApp, startApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { CuttableLink } from '../helpers/cuttable-link.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, silentLogger } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_test_admin_key';
const context = getNotificationType('order_confirmed')!.sampleContext;

/** An app on PostgreSQL reached through a link the test controls; `run` gets its URL, the link and the database, cleanup is done. */
async function withLinkedApp(
  {
    timeouts,
    config = {},
    worker = true,
  }: {
    timeouts?: Parameters<typeof openDatabase>[0]['timeouts'];
    config?: Record<string, string>;
    worker?: boolean;
  },
  run: (url: string, link: CuttableLink, database: Database) => Promise<void>,
): Promise<void> {
  const t = await createTestDatabase();
  const target = new URL(t.url!);
  const link = new CuttableLink({ host: target.hostname, port: Number(target.port || 5432) });
  await link.open();
  let database: Database | undefined;
  let app: RunningApp | undefined;
  try {
    const viaLink = new URL(t.url!);
    viaLink.port = String(link.port);
    database = await openDatabase({
      databaseUrl: viaLink.toString(),
      dataDir: 'unused',
      timeouts,
      logger: silentLogger,
    });
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY, ...config }),
      api: true,
      worker,
      database,
      logger: silentLogger,
    });
    await run(app.url!, link, database);
  } finally {
    link.resume();
    await app?.close();
    await database?.close();
    await link.cut();
    await t.close();
  }
}

const notify = (url: string, userId: string) =>
  fetch(`${url}/api/v1/notifications`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId, type: 'order_confirmed', context }),
  });

const putUser = (url: string, userId: string) =>
  fetch(`${url}/api/v1/users/${userId}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ phone: '+919876543210', email: 'load@example.com' }),
  });

test('a connection cut while a transaction holds its client fails that transaction, never the process', {
  skip: ENGINE !== 'postgres',
  timeout: 60_000,
}, async () => {
  await withLinkedApp({}, async (url, link, database) => {
    assert.equal((await putUser(url, 'cut-user')).status, 201);
    // Between two statements its checked-out client has no query to fail, so the connection error
    // reaches the client as an 'error' event: with no handler, this test process would die.
    const between = database.db.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
      await link.cut();
      await tx.execute(sql`select 1`);
    });
    await assert.rejects(between);
    await link.open();
    await waitFor(async () => (await notify(url, 'cut-user')).status === 201, 10_000, 'recovered');
  });
});

test('a stalled database fails /readyz within its bound and requests with 503, then recovers by itself', {
  skip: ENGINE !== 'postgres',
  timeout: 60_000,
}, async () => {
  await withLinkedApp(
    { timeouts: { connectMs: 500, statementMs: 500 }, config: { READYZ_TIMEOUT_MS: '300' } },
    async (url, link) => {
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      link.stall();
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 503);
      const created = await putUser(url, 'stall-user');
      assert.equal(created.status, 503, await created.text());
      link.resume();
      await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000, 'ready again');
      assert.equal((await putUser(url, 'stall-user')).status, 201);
    },
  );
});

test('while the database is unreachable the API answers 503 DATABASE_UNAVAILABLE with Retry-After, then recovers', {
  skip: ENGINE !== 'postgres',
  timeout: 60_000,
}, async () => {
  await withLinkedApp({ worker: false }, async (url, link) => {
    const get = () =>
      fetch(`${url}/api/v1/users/nobody`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const create = () =>
      fetch(`${url}/api/v1/users/outage-user`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ phone: '+919876543210' }),
      });
    assert.equal((await get()).status, 404);

    await link.cut();
    // Dropped connections first (the pool's idle clients), then refused ones: both are 503s.
    for (const send of [get, create, get]) {
      const res = await send();
      const body = (await res.json()) as { code: string; status: number };
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.code, 'DATABASE_UNAVAILABLE');
      assert.equal(res.headers.get('retry-after'), '2');
    }

    await link.open();
    await waitFor(async () => (await get()).status === 404, 10_000, 'the API reconnected');
    assert.equal((await create()).status, 201);
  });
});
