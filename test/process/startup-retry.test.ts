import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CuttableLink } from '../helpers/cuttable-link.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';
import { type CliProcess, PROCESS_MS, runCli } from './cli.ts';

// Separate processes reaching a database over TCP are the PostgreSQL deployment.
const skip = ENGINE === 'pglite';

/** A link to the test database that resets every connection (as a database not yet up), and the URL through it. */
async function refusingLink(databaseUrl: string): Promise<{ link: CuttableLink; url: string }> {
  const target = new URL(databaseUrl);
  const link = new CuttableLink({ host: target.hostname, port: Number(target.port || 5432) });
  await link.open();
  link.refuse();
  target.port = String(link.port);
  return { link, url: target.toString() };
}

describe('start-up while the database cannot be reached', { skip }, () => {
  test('a worker started before its database waits, then starts once the database answers', async () => {
    const t = await createTestDatabase();
    const { link, url } = await refusingLink(t.url!);
    let p: CliProcess | undefined;
    try {
      p = runCli(['worker'], {
        DATABASE_URL: url,
        WORKER_ID: 'startup-w1',
        DATABASE_STARTUP_TIMEOUT_MS: '120000',
      });
      const proc = p;
      await waitFor(
        async () =>
          (proc.stderr().match(/database cannot be reached yet.*starting again/g)?.length ?? 0) >= 2,
        PROCESS_MS,
        'two start-up attempts refused',
      );
      assert.equal(proc.child.exitCode, null, `the worker waited instead of exiting\n${proc.stderr()}`);
      link.accept();
      await proc.waitForOutput(/Delivery worker startup-w1 running/, PROCESS_MS);
    } finally {
      p?.kill();
      await link.cut();
      await t.close();
    }
  });

  test('with DATABASE_STARTUP_TIMEOUT_MS=0 an unreachable database fails start-up at once, with the reason', async () => {
    const t = await createTestDatabase();
    const { link, url } = await refusingLink(t.url!);
    let p: CliProcess | undefined;
    try {
      p = runCli(['worker'], { DATABASE_URL: url, DATABASE_STARTUP_TIMEOUT_MS: '0' });
      assert.notEqual(await p.exited(PROCESS_MS), 0);
      assert.match(p.stderr(), /ECONNRESET/);
      assert.doesNotMatch(p.stderr(), /starting again/);
    } finally {
      p?.kill();
      await link.cut();
      await t.close();
    }
  });
});
