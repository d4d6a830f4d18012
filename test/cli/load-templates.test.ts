import assert from 'node:assert/strict';
import { test } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { loadTemplatesIntoDb, TemplateLoadError } from '../../src/authoring/load-templates.ts';
import { notificationTemplates } from '../../src/db/schema.ts';
import { loadTemplateFiles, TEMPLATE_FIELDS, type TemplateSet } from '../../src/templates/template-files.ts';
import { createTestDatabase } from '../helpers/test-db.ts';

const SETS = loadTemplateFiles();
const ROWS = SETS.length * TEMPLATE_FIELDS.length;
const opts = { createdBy: 'test' };

function withSms(type: string, locale: string, change: Partial<TemplateSet>): TemplateSet[] {
  return SETS.map((s) => (s.type === type && s.locale === locale ? { ...s, ...change } : s));
}

test('two loads at once create each template once (the second waits, then finds them unchanged)', async (t) => {
  const { database, close } = await createTestDatabase();
  t.after(close);
  const results = await Promise.all([
    loadTemplatesIntoDb(database.db, SETS, opts),
    loadTemplatesIntoDb(database.db, SETS, opts),
  ]);
  assert.deepEqual(results.map((r) => [r.created, r.updated, r.unchanged]).sort(), [
    [0, 0, ROWS],
    [ROWS, 0, 0],
  ]);
});

test('a new DLT registration alone is a new version of the SMS template only', async (t) => {
  const { database, close } = await createTestDatabase();
  t.after(close);
  await loadTemplatesIntoDb(database.db, SETS, opts);
  const registered = withSms('order_confirmed', 'en', {
    dltTemplateId: '1107170000000000099',
    dltText: 'LaundryConnect: Order #{#var#} confirmed! Pickup scheduled for {#var#}. Thank you!',
  });
  const progress: number[] = [];
  const result = await loadTemplatesIntoDb(database.db, registered, {
    ...opts,
    onProgress: (done, total) => {
      assert.equal(total, ROWS);
      progress.push(done);
    },
  });
  assert.deepEqual([result.created, result.updated, result.unchanged], [0, 1, ROWS - 1]);
  assert.equal(progress.at(-1), ROWS);
  const active = await database.db
    .select()
    .from(notificationTemplates)
    .where(
      and(
        eq(notificationTemplates.type, 'order_confirmed'),
        eq(notificationTemplates.locale, 'en'),
        eq(notificationTemplates.active, true),
      ),
    );
  const sms = active.find((r) => r.field === 'sms')!;
  assert.equal(sms.version, 2);
  assert.equal(sms.dltTemplateId, '1107170000000000099');
  assert.ok(
    active.filter((r) => r.field !== 'sms').every((r) => r.version === 1 && r.dltTemplateId === null),
  );
});

test('a template that does not parse throws TemplateLoadError naming it; nothing is written', async (t) => {
  const { database, close } = await createTestDatabase();
  t.after(close);
  const broken = SETS.map((s) =>
    s.type === 'welcome' && s.locale === 'ta'
      ? { ...s, fields: { ...s.fields, email_subject: '{{ oops' } }
      : s,
  );
  await assert.rejects(loadTemplatesIntoDb(database.db, broken, opts), (err: Error) => {
    assert.ok(err instanceof TemplateLoadError);
    assert.match(err.message, /^Template welcome\/ta field email_subject does not parse: /);
    return true;
  });
  assert.equal((await database.db.select().from(notificationTemplates)).length, 0);
});
