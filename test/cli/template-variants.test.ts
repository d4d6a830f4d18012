import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { consoleAudit, templateVariantGroups } from '../../src/db/schema.ts';
import { cli, cliDatabase } from './helpers.ts';

test('templates variants: start, show, weights, refused promote, forced promote (audited) from the CLI', async (t) => {
  const database = await cliDatabase();
  t.after(() => database.close());
  const dir = mkdtempSync(join(tmpdir(), 'lcn-variants-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'variants.json');
  writeFileSync(
    file,
    JSON.stringify([
      { label: 'A', weight: 50, fields: {} },
      {
        label: 'B',
        weight: 50,
        fields: { sms: 'LaundryConnect: order #{{ order.order_number }} is placed!' },
      },
    ]),
  );
  const base = ['templates', 'variants'];
  const type = ['--type', 'order_created'];

  const usage = await cli([...base, 'start', ...type], database.env);
  assert.equal(usage.code, 2, 'no --file is a usage error');
  const started = await cli([...base, 'start', ...type, '--file', file, '--metric', 'replies'], database.env);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /Started A\/B test \d+/);
  const running = await cli([...base, 'start', ...type, '--file', file], database.env);
  assert.equal(running.code, 1);
  assert.match(running.stderr, /VARIANT_TEST_RUNNING/);

  const weights = await cli([...base, 'weights', ...type, '--set', 'A=70,B=30'], database.env);
  assert.equal(weights.code, 0, weights.stderr);
  assert.match(weights.stdout, /A {6}weight {4}70 {2}sent 0/);
  const shown = await cli([...base, 'show', ...type, '--json'], database.env);
  const report = JSON.parse(shown.stdout) as {
    metric: string;
    variants: Array<{ label: string; weight: number }>;
  };
  assert.equal(report.metric, 'replies');
  assert.deepEqual(
    report.variants.map((v) => [v.label, v.weight]),
    [
      ['A', 70],
      ['B', 30],
    ],
  );

  const refused = await cli([...base, 'promote', ...type, '--variant', 'B'], database.env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /not shown better than variant A at 0\.95 confidence.*VARIANT_NOT_CONFIDENT/);
  const forced = await cli([...base, 'promote', ...type, '--variant', 'B', '--force'], database.env);
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /Promoted B: now version 1 \(forced/);

  await database.use(async (db) => {
    const [group] = await db.select().from(templateVariantGroups);
    assert.equal(group!.status, 'promoted');
    const [entry] = await db.select().from(consoleAudit).where(eq(consoleAudit.actor, 'cli'));
    assert.equal(entry!.action, 'template.variant_force_promoted');
  });
});
