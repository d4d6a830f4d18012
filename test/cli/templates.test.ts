import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { and, asc, count, eq } from 'drizzle-orm';
import { notificationTemplates } from '../../src/db/schema.ts';
import { loadTemplateFiles, TEMPLATE_FIELDS } from '../../src/templates/template-files.ts';
import { cli, cliDatabase } from './helpers.ts';

const SHIPPED = fileURLToPath(new URL('../../templates', import.meta.url));
const ROWS = loadTemplateFiles(SHIPPED).length * TEMPLATE_FIELDS.length;

/** A copy of the shipped templates the test may edit. */
function templatesCopy(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'lcn-templates-'));
  cpSync(SHIPPED, dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function editTemplate(dir: string, locale: string, type: string, field: string, source: string): void {
  const path = join(dir, locale, `${type}.json`);
  const file = JSON.parse(readFileSync(path, 'utf8'));
  file[field] = source;
  writeFileSync(path, JSON.stringify(file, null, 2));
}

describe('load-notification-templates', () => {
  test('loads every template once; a second run changes nothing; --check sees them', async (t) => {
    const database = await cliDatabase();
    t.after(() => database.close());

    const missing = await cli(['load-notification-templates', '--check', 'order_confirmed'], database.env);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /✗ No active template for order_confirmed/);

    const first = await cli(['load-notification-templates'], database.env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^Templates: ${ROWS} created, 0 updated, 0 unchanged$`, 'm'));
    assert.match(first.stdout, /^TYPE +LOCALE +ENCODING +CHARS +SEGMENTS +WARNINGS$/m);
    assert.match(first.stdout, /payment_completed\/en UCS2_FORCED: UCS-2 forced by "₹" \(U\+20B9\)/);

    const second = await cli(['load-notification-templates'], database.env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`^Templates: 0 created, 0 updated, ${ROWS} unchanged$`, 'm'));

    const check = await cli(['load-notification-templates', '--check', 'order_confirmed'], database.env);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(
      check.stdout.trim(),
      '✓ order_confirmed has active templates: en (8 fields, v1), hi (8 fields, v1), ta (8 fields, v1)',
    );
    const rows = await database.use((db) => db.select({ n: count() }).from(notificationTemplates));
    assert.equal(rows[0]!.n, ROWS);
  });

  test('a changed template becomes version 2 and the only active one; version 1 is kept', async (t) => {
    const database = await cliDatabase();
    t.after(() => database.close());
    const dir = templatesCopy(t);
    const first = await cli(['load-notification-templates', '--dir', dir], database.env);
    assert.equal(first.code, 0, first.stderr);

    const changed =
      'LaundryConnect: Order #{{ order.order_number }} confirmed. Pickup {{ order.pickup_date }}.';
    editTemplate(dir, 'en', 'order_confirmed', 'sms', changed);
    const second = await cli(['load-notification-templates', '--dir', dir], database.env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`^Templates: 0 created, 1 updated, ${ROWS - 1} unchanged$`, 'm'));

    const versions = await database.use((db) =>
      db
        .select({
          version: notificationTemplates.version,
          active: notificationTemplates.active,
          source: notificationTemplates.source,
          createdBy: notificationTemplates.createdBy,
        })
        .from(notificationTemplates)
        .where(
          and(
            eq(notificationTemplates.type, 'order_confirmed'),
            eq(notificationTemplates.field, 'sms'),
            eq(notificationTemplates.locale, 'en'),
          ),
        )
        .orderBy(asc(notificationTemplates.version)),
    );
    assert.deepEqual(
      versions.map((v) => [v.version, v.active]),
      [
        [1, false],
        [2, true],
      ],
    );
    assert.match(versions[0]!.source, /Pickup scheduled for/);
    assert.equal(versions[1]!.source, changed);
    assert.equal(versions[1]!.createdBy, 'cli:load-notification-templates');

    const third = await cli(['load-notification-templates', '--dir', dir], database.env);
    assert.match(third.stdout, new RegExp(`^Templates: 0 created, 0 updated, ${ROWS} unchanged$`, 'm'));
  });

  test('a template that does not parse stops the load, names it, and writes nothing', async (t) => {
    const database = await cliDatabase();
    t.after(() => database.close());
    const dir = templatesCopy(t);
    editTemplate(dir, 'hi', 'order_ready', 'push_body', 'Ready {% if order.order_number %}');
    const r = await cli(['load-notification-templates', '--dir', dir], database.env);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Error: Template order_ready\/hi field push_body does not parse: .+Nothing was loaded\.$/m,
    );
    const rows = await database.use((db) => db.select({ n: count() }).from(notificationTemplates));
    assert.equal(rows[0]!.n, 0);
  });

  test('--strict turns lint warnings into exit 1 (the load itself still happens)', async (t) => {
    const database = await cliDatabase();
    t.after(() => database.close());
    const r = await cli(['load-notification-templates', '--strict'], database.env);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`Templates: ${ROWS} created`));
    assert.match(r.stderr, /Error: SMS lint warnings with --strict/);
  });

  test('--help exits 0; an unknown --check type exits 1', async () => {
    const help = await cli(['load-notification-templates', '--help']);
    assert.equal(help.code, 0);
    for (const option of ['--dir', '--strict', '--check']) assert.ok(help.stdout.includes(option), option);
    const unknown = await cli(['load-notification-templates', '--check', 'order_teleported']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Unknown notification type "order_teleported"/);
  });
});

describe('lint-templates', () => {
  test('reports the seed payment template as UCS-2, forced by ₹', async () => {
    const r = await cli(['lint-templates']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^payment_completed +en +UCS-2 +\d+ +2 +MULTI_SEGMENT, UCS2_FORCED$/m);
    assert.match(r.stdout, /payment_completed\/en UCS2_FORCED: UCS-2 forced by "₹" \(U\+20B9\)/);
    assert.match(r.stdout, /^order_confirmed +en +GSM-7 +\d+ +1 +-$/m);
  });

  test('--strict exits 1 on warnings and 0 on a clean folder', async (t) => {
    assert.equal((await cli(['lint-templates', '--strict'])).code, 1);
    const dir = mkdtempSync(join(tmpdir(), 'lcn-templates-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'en'));
    cpSync(join(SHIPPED, 'en', 'order_confirmed.json'), join(dir, 'en', 'order_confirmed.json'));
    const clean = await cli(['lint-templates', '--strict', '--dir', dir]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /1 SMS template\(s\), 0 with warnings/);
  });

  test('--help exits 0', async () => {
    const r = await cli(['lint-templates', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: laundryconnect-notify lint-templates/);
  });
});

test('the command list names every new command', async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  for (const name of ['test-sms', 'sms', 'sandbox', 'load-notification-templates', 'lint-templates']) {
    assert.match(r.stdout, new RegExp(`^ {2}${name} `, 'm'), name);
  }
});
