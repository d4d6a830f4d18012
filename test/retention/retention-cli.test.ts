import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CliDatabase, cli, cliDatabase } from '../cli/helpers.ts';
import { EXPECTED_DELETED, seedRetention, tableCounts, WINDOW_DAYS } from './fixture.ts';

describe('the retention command', () => {
  let data: CliDatabase;
  before(async () => {
    data = await cliDatabase();
    await data.use((db) => seedRetention(db, Date.now()));
  });
  after(() => data.close());

  test('refuses to run while retention is off and no --days is given', async () => {
    const r = await cli(['retention', 'run'], data.env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Retention is off \(RETENTION_DAYS=0\)/);
  });

  test('--dry-run prints the counts and deletes nothing; run deletes them; status shows the run', async () => {
    const rows = await data.use(tableCounts);
    const dry = await cli(['retention', 'run', '--dry-run', '--json'], {
      ...data.env,
      RETENTION_DAYS: String(WINDOW_DAYS),
    });
    assert.equal(dry.code, 0, dry.stderr);
    const dryReport = JSON.parse(dry.stdout) as { dryRun: boolean; deleted: Record<string, number> };
    assert.equal(dryReport.dryRun, true);
    assert.deepEqual(dryReport.deleted, EXPECTED_DELETED);
    assert.deepEqual(await data.use(tableCounts), rows, 'nothing deleted');

    const run = await cli(['retention', 'run', '--days', String(WINDOW_DAYS)], data.env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Deleted\n/);
    assert.match(run.stdout, /notifications +5\n/);
    assert.match(run.stdout, /delivery_status_history +6\n/);
    const left = await data.use(tableCounts);
    assert.equal(left['notifications'], rows['notifications']! - EXPECTED_DELETED.notifications);

    const status = await cli(['retention', 'status', '--json'], data.env);
    assert.equal(status.code, 0, status.stderr);
    const last = JSON.parse(status.stdout) as { finishedAt: string | null; deleted: Record<string, number> };
    assert.ok(last.finishedAt);
    assert.deepEqual(last.deleted, EXPECTED_DELETED);
  });
});
