import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { createApiKey, findApiKey } from '../../src/auth/api-keys.ts';
import { listAudit, recordAudit } from '../../src/console/audit-log.ts';
import { changedFields } from '../../src/console/audit-page.ts';
import { createTestDatabase, ENGINE, type TestDatabase } from '../helpers/test-db.ts';
import { ConsoleClient } from './console-client.ts';
import { startConsoleApp } from './console-test-app.ts';

const ADMIN_KEY = 'lcn_test_console_audit_key';

describe(`console audit log (${ENGINE})`, () => {
  let t: TestDatabase;
  let app: RunningApp;

  before(async () => {
    t = await createTestDatabase();
    app = await startConsoleApp(t, { adminKey: ADMIN_KEY });
  });
  after(async () => {
    await app?.close();
    await t?.close();
  });

  test('changedFields lists only what differs, a created or deleted target field by field', () => {
    assert.deepEqual(
      changedFields({ body: 'a', version: 1, locale: 'en' }, { body: 'b', version: 2, locale: 'en' }),
      [
        { field: 'body', before: '"a"', after: '"b"' },
        { field: 'version', before: '1', after: '2' },
      ],
    );
    assert.deepEqual(changedFields(null, { enabled: true }), [
      { field: 'enabled', before: '—', after: 'true' },
    ]);
    assert.deepEqual(changedFields({ enabled: true }, { enabled: true }), []);
    assert.deepEqual(changedFields('off', 'on'), [{ field: 'value', before: '"off"', after: '"on"' }]);
  });

  test('entries are listed newest first, per target, a page at a time', async () => {
    const key = (await findApiKey(t.database.db, ADMIN_KEY))!;
    const operator = { sessionId: 0, apiKeyId: key.id, name: key.name, role: 'admin' as const };
    const at = new Date('2026-12-01T10:00:00Z');
    for (let i = 0; i < 5; i++)
      await recordAudit(
        t.database.db,
        operator,
        {
          action: 'template.saved',
          targetType: 'template',
          targetId: `list-${i % 2}`,
          before: { v: i },
          after: { v: i + 1 },
        },
        at,
      );
    const first = await listAudit(t.database.db, { targetType: 'template', targetId: 'list-0', limit: 2 });
    assert.deepEqual(
      first.entries.map((e) => e.before),
      [{ v: 4 }, { v: 2 }],
    );
    assert.equal(first.more, true);
    const second = await listAudit(t.database.db, {
      targetType: 'template',
      targetId: 'list-0',
      limit: 2,
      beforeId: first.entries.at(-1)!.id,
    });
    assert.deepEqual(
      second.entries.map((e) => e.before),
      [{ v: 0 }],
    );
    assert.equal(second.more, false);
  });

  test('the audit page shows who changed what, and a viewer can read it', async () => {
    const key = (await findApiKey(t.database.db, ADMIN_KEY))!;
    const operator = { sessionId: 0, apiKeyId: key.id, name: key.name, role: 'admin' as const };
    await recordAudit(
      t.database.db,
      operator,
      {
        action: 'preference.changed',
        targetType: 'user',
        targetId: 'page-42',
        before: { sms: false },
        after: { sms: true },
      },
      new Date('2026-12-01T11:22:33Z'),
    );
    const viewerKey = await createApiKey(t.database.db, 'audit viewer', 'viewer');
    const c = new ConsoleClient(app.url!);
    assert.equal((await c.signIn(viewerKey)).status, 303);
    const page = await c.request('GET', '/console/audit?target_type=user&target_id=page-42');
    assert.equal(page.status, 200);
    assert.match(page.text, /<h1>Audit log: user page-42<\/h1>/);
    assert.match(page.text, /2026-12-01 11:22:33/);
    assert.match(page.text, /<code>preference\.changed<\/code>/);
    assert.match(page.text, /<dt>sms<\/dt><dd><del>false<\/del> <ins>true<\/ins><\/dd>/);
    assert.ok(page.text.includes(key.name), 'the actor is named');
    const signedOut = await new ConsoleClient(app.url!).request('GET', '/console/audit');
    assert.equal(signedOut.status, 303);
  });
});
