import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { queryRows } from '../../src/db/database.ts';
import { vacuumHotTables } from '../../src/db/embedded-vacuum.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { notify, smsUser, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';

const deadRows = async (t: TestDatabase) => {
  const [row] = await queryRows<{ n: number }>(
    t.database.db,
    sql`select coalesce(sum(n_dead_tup), 0)::int as n from pg_stat_user_tables
        where relname in ('deliveries', 'notifications')`,
  );
  return row!.n;
};

// PGlite only: PostgreSQL has autovacuum, and there other backends' statistics arrive late.
describe(`vacuum of the hot tables (${ENGINE})`, { skip: ENGINE !== 'pglite' && 'embedded only' }, () => {
  let t: TestDatabase;
  let app: RunningApp;
  before(async () => {
    t = await createTestDatabase();
    app = await startSmsApp(t, { EMBEDDED_VACUUM_INTERVAL_MS: '0' });
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  test('removes the dead rows that delivering notifications leaves behind', async () => {
    await smsUser(t.database.db, 'vacuum-user', '+919876500301');
    for (let i = 0; i < 20; i++) await notify(app, 'vacuum-user');
    // Each delivery is rewritten on its way (queued → sending → sent/delivered): dead row versions.
    const dead = await waitFor(async () => {
      const n = await deadRows(t);
      return n >= 20 ? n : undefined;
    });
    assert.ok(dead >= 20, `${dead} dead rows before`);
    await vacuumHotTables(t.database);
    assert.equal(await deadRows(t), 0);
  });
});
