import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { type Database, openDatabase, wrapPglite } from '../../src/db/database.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';

/**
 * Each test gets its own database: on PostgreSQL (TEST_DATABASE_URL set, the `npm run test:pg` suite)
 * a fresh database created for it and dropped after; on PGlite a fresh in-memory instance restored
 * from a migrated snapshot (starting PGlite from scratch costs ~2 s, restoring ~0.4 s).
 */
export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'];
export const ENGINE = TEST_DATABASE_URL ? 'postgres' : 'pglite';
export const silentLogger = createLogger('silent');

export interface TestDatabase {
  database: Database;
  /** Connection string of this test's PostgreSQL database (undefined on PGlite). */
  url: string | undefined;
  close(): Promise<void>;
}

let snapshot: Promise<File | Blob> | undefined;

async function pgliteSnapshot(): Promise<File | Blob> {
  const client = new PGlite();
  const database = wrapPglite(client);
  await runMigrations(database);
  const dump = await client.dumpDataDir('none');
  await client.close();
  return dump;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) {
    snapshot ??= pgliteSnapshot();
    const client = new PGlite({ loadDataDir: await snapshot });
    await client.waitReady;
    const database = wrapPglite(client);
    return { database, url: undefined, close: () => database.close() };
  }
  const empty = await emptyPostgresDatabase();
  const database = await openDatabase({ databaseUrl: empty.url, dataDir: 'unused', logger: silentLogger });
  await runMigrations(database);
  return {
    database,
    url: empty.url,
    async close() {
      await database.close();
      await empty.drop();
    },
  };
}

/**
 * A fresh database on the TEST_DATABASE_URL server with no schema yet (a test that runs the
 * migrations itself, or has processes run them); `drop` removes it, connections and all.
 */
export async function emptyPostgresDatabase(
  prefix = 'lcn_test',
): Promise<{ url: string; drop(): Promise<void> }> {
  if (!TEST_DATABASE_URL) throw new Error('emptyPostgresDatabase needs TEST_DATABASE_URL');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  return {
    url: withDatabase(TEST_DATABASE_URL, name),
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
