import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { type RunningApp, startApp } from '../../src/app.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { testConfig, waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, silentLogger } from '../helpers/test-db.ts';

const ADMIN_KEY = 'lcn_test_admin_key';

/**
 * A TCP hop between the service and PostgreSQL that the test can cut: every open connection is
 * dropped and new ones are refused, as during a database restart, until it is restored.
 */
class CuttableLink {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.#target);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

test('while the database is unreachable the API answers 503 DATABASE_UNAVAILABLE with Retry-After, then recovers', {
  skip: ENGINE !== 'postgres',
}, async () => {
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
      logger: silentLogger,
    });
    app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: ADMIN_KEY }),
      api: true,
      worker: false,
      database,
      logger: silentLogger,
    });
    const url = app.url;
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
  } finally {
    await app?.close();
    await link.cut();
    await database?.close();
    await t.close();
  }
});
