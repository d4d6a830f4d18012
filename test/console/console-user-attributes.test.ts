import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inArray } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { users } from '../../src/db/schema.ts';
import { insertUser } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { ConsoleClient } from './console-client.ts';
import { startConsoleApp } from './console-test-app.ts';

const ADMIN_KEY = 'lcn_test_console_attributes_key';

describe(`console user attributes (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;
  let admin: ConsoleClient;

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, { adminKey: ADMIN_KEY });
    admin = new ConsoleClient(app.url!);
    assert.equal((await admin.signIn(ADMIN_KEY)).status, 303);
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test("a user's page lists their attributes by name, values as text (markup escaped), types shown", async () => {
    try {
      await insertUser(t.database.db, 'u-attrs-page', {
        attributes: { segment: '<script>alert(1)</script>', orders: 7, vip: false, city: 'Pune & Co' },
      });
      await insertUser(t.database.db, 'u-attrs-none');
      const page = await admin.request('GET', '/console/users/u-attrs-page');
      assert.equal(page.status, 200);
      const table = /<table id="user-attributes">[\s\S]*?<\/table>/.exec(page.text)?.[0] ?? '';
      const rows = [
        ...table.matchAll(/<tr><th scope="row"><code>([^<]+)<\/code><\/th><td>(.*?)<\/td><\/tr>/g),
      ];
      assert.deepEqual(
        rows.map((m) => m[1]),
        ['city', 'orders', 'segment', 'vip'],
        'by name',
      );
      assert.equal(rows[0]![2], 'Pune &amp; Co');
      assert.equal(rows[1]![2], '<code>7</code> <span class="note">(number)</span>');
      assert.equal(rows[2]![2], '&lt;script&gt;alert(1)&lt;/script&gt;');
      assert.equal(
        rows[3]![2],
        '<code>false</code> <span class="note">(boolean)</span>',
        'false is shown, not blank',
      );
      assert.ok(!page.text.includes('<script>alert'), 'the value never becomes markup');

      const none = await admin.request('GET', '/console/users/u-attrs-none');
      assert.match(none.text, /<h2 id="attributes">Attributes<\/h2>\n<p>No attributes set\.<\/p>/);
    } finally {
      await t.database.db.delete(users).where(inArray(users.externalId, ['u-attrs-page', 'u-attrs-none']));
    }
  });
});
