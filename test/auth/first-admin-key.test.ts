import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { startApp } from '../../src/app.ts';
import { ensureAdminKey, findApiKey } from '../../src/auth/api-keys.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { apiKeys } from '../../src/db/schema.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, silentLogger } from '../helpers/test-db.ts';

test(`processes starting together on an empty database generate one admin key between them (${ENGINE})`, async () => {
  const t = await createTestDatabase();
  // On PostgreSQL each "process" has its own pool; PGlite has one connection, so one database.
  const others: Database[] = [];
  try {
    for (let i = 0; i < 3 && t.url; i++) {
      others.push(await openDatabase({ databaseUrl: t.url, dataDir: 'unused', logger: silentLogger }));
    }
    const dbs = [t.database, ...others];
    const generated = await Promise.all(dbs.map((d) => ensureAdminKey(d.db, undefined)));
    assert.equal(generated.filter((k) => k !== undefined).length, 1, 'exactly one process printed a key');
    const admins = await t.database.db.select().from(apiKeys).where(eq(apiKeys.role, 'admin'));
    assert.equal(admins.length, 1);
    assert.equal(await ensureAdminKey(t.database.db, undefined), undefined, 'a later start makes none');
  } finally {
    for (const d of others) await d.close();
    await t.close();
  }
});

test(`a key from ADMIN_API_KEY is registered but never returned for printing (${ENGINE})`, async () => {
  const t = await createTestDatabase();
  try {
    const fromEnv = 'lcn_adm_from_the_environment_0123456789';
    assert.equal(await ensureAdminKey(t.database.db, fromEnv), undefined, 'the first start shows nothing');
    assert.equal((await findApiKey(t.database.db, fromEnv))?.role, 'admin', 'the key works');
    assert.equal(await ensureAdminKey(t.database.db, fromEnv), undefined, 'nor does a later start');
  } finally {
    await t.close();
  }
});

test(`a generated key is handed over as soon as it is stored, even when the start then fails (${ENGINE})`, async () => {
  const t = await createTestDatabase();
  // The port is taken: the start fails at listen, long after the key was committed.
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as AddressInfo).port;
  const told: string[] = [];
  try {
    await assert.rejects(
      startApp({
        config: testConfig({ PORT: String(port), HOST: '127.0.0.1' }),
        api: true,
        worker: false,
        database: t.database,
        onAdminKeyGenerated: (key) => told.push(key),
      }),
      /EADDRINUSE/,
    );
    assert.equal(told.length, 1, 'the key was told once');
    assert.equal((await findApiKey(t.database.db, told[0]!))?.role, 'admin', 'and it works');
  } finally {
    taken.close();
    await t.close();
  }
});
