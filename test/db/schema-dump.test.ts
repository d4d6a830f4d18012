import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { dumpFreshSchema, SCHEMA_FILE } from '../../scripts/dump-schema.ts';

// src/db/schema.sql is the reader's view of the live functions and tables; a migration that changes
// them without regenerating it would leave readers looking at yesterday's SQL.
test('src/db/schema.sql is what the migrations produce (regenerate with `npm run db:dump`)', async () => {
  const committed = readFileSync(SCHEMA_FILE, 'utf8');
  const live = await dumpFreshSchema();
  assert.equal(committed, live, 'src/db/schema.sql is stale: run `npm run db:dump` and commit it');
});

test('the dump carries the live body of every hot-path function', async () => {
  const committed = readFileSync(SCHEMA_FILE, 'utf8');
  for (const fn of ['lc_claim_deliveries', 'lc_complete_deliveries', 'lc_apply_provider_statuses']) {
    assert.match(committed, new RegExp(`CREATE OR REPLACE FUNCTION public\\.${fn}\\(`));
  }
});
