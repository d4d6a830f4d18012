import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { openDatabase } from '../../src/db/database.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { silentLogger, TEST_DATABASE_URL } from '../helpers/test-db.ts';

// Two nodes starting together on a database without the schema: both starts succeed, one applies
// every migration and the other finds none left (PostgreSQL only: PGlite is one process).
test('nodes migrating one PostgreSQL database at once take turns', { skip: !TEST_DATABASE_URL }, async () => {
  const name = `lcn_test_migrate_${randomBytes(5).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  const nodes = await Promise.all(
    [1, 2, 3].map(() =>
      openDatabase({ databaseUrl: url.toString(), dataDir: 'unused', logger: silentLogger }),
    ),
  );
  try {
    const results = await Promise.all(nodes.map((n) => runMigrations(n)));
    const total = results[0]!.total;
    assert.deepEqual(
      results.map((r) => r.applied).sort((a, b) => b - a),
      [total, 0, 0],
      'one node applied them all, the others none',
    );
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
    await admin(`drop database if exists ${name} with (force)`);
  }
});
