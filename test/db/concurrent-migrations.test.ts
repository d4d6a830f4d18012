import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../../src/db/database.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { emptyPostgresDatabase, silentLogger, TEST_DATABASE_URL } from '../helpers/test-db.ts';

// Nodes starting together on a database without the schema: every start succeeds, one applies
// every migration and the others find none left (PostgreSQL only: PGlite is one process).
test('nodes migrating one PostgreSQL database at once take turns', { skip: !TEST_DATABASE_URL }, async () => {
  const empty = await emptyPostgresDatabase('lcn_test_migrate');
  const nodes = await Promise.all(
    [1, 2, 3].map(() => openDatabase({ databaseUrl: empty.url, dataDir: 'unused', logger: silentLogger })),
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
    await empty.drop();
  }
});
