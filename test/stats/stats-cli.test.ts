import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { describe, test } from 'node:test';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { openDatabase } from '../../src/db/database.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { operatorSocketPath } from '../../src/operator/operator-socket.ts';
import { ENGINE, silentLogger } from '../helpers/test-db.ts';
import { listeningUrl, PROCESS_MS, runCli, runToExit, tempDataDir } from '../process/cli.ts';
import { seed } from './fixture.ts';

// Only the embedded database has one process per data directory; on PostgreSQL the CLI simply
// connects, as every other command does.
const skip = ENGINE === 'postgres';

/**
 * A zone where it is about noon now (Etc/GMT-N is UTC+N), so rows created now are "today" there
 * in the CLI process too, whenever the test runs: no midnight falls between seeding and asking.
 */
function zoneNearNoon(): string {
  const offset = 12 - new Date().getUTCHours();
  return offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}

describe('laundryconnect-notify stats', { skip }, () => {
  test('without a running serve it opens the data directory itself', async () => {
    const data = tempDataDir();
    try {
      const database = await openDatabase({ dataDir: data.dir, logger: silentLogger });
      try {
        await runMigrations(database);
        const now = new Date().toISOString();
        await seed(database.db, [
          {
            type: 'order_confirmed',
            createdAt: now,
            deliveries: [
              { channel: 'sms', status: 'delivered', segments: 2, cost: 0.1664, price: '-0.16640' },
            ],
          },
          {
            type: 'order_picked_up',
            createdAt: now,
            deliveries: [{ channel: 'sms', status: 'failed', errorCode: '30003', segments: 1, cost: 0.0832 }],
          },
        ]);
      } finally {
        await database.close();
      }
      const tz = zoneNearNoon();
      const text = await runToExit(['stats', '--today', '--tz', tz], { DATA_DIR: data.dir }, PROCESS_MS);
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.split('\n');
      assert.equal(lines[0], 'SMS sent today: 2', text.stdout);
      assert.match(text.stdout, /^SMS +2 +0 +1 +1 +0 +0 +50\.0 %$/m);
      assert.match(
        text.stdout,
        /SMS cost: 3 segments, estimated 0\.24960 USD, reported 0\.16640 USD \(1 priced\)/,
      );
      assert.match(text.stdout, /SMS 30003 ×1 {2}Twilio error 30003: Unreachable handset/);

      const json = await runToExit(
        ['stats', '--window', '7d', '--tz', tz, '--json'],
        { DATA_DIR: data.dir },
        PROCESS_MS,
      );
      assert.equal(json.code, 0, json.stderr);
      const stats = JSON.parse(json.stdout) as {
        channels: { sms: { handed_to_provider: number } };
        buckets: unknown[];
      };
      assert.equal(stats.channels.sms.handed_to_provider, 2);
      assert.equal(stats.buckets.length, 7);

      const bad = await runToExit(['stats', '--window', '1y'], { DATA_DIR: data.dir }, PROCESS_MS);
      assert.equal(bad.code, 2);
    } finally {
      data.remove();
    }
  });

  test('while serve holds the embedded database it asks that process over its owner-only socket', async () => {
    const data = tempDataDir();
    const key = 'lcn_test_admin_key_stats_cli';
    const serve = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0', ADMIN_API_KEY: key });
    try {
      const url = await listeningUrl(serve);
      const call = (method: string, path: string, body: unknown) =>
        fetch(url + path, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      assert.equal(
        (await call('PUT', '/api/v1/users/stats-cli', { email: 'stats-cli@example.com' })).status,
        201,
      );
      const created = await call('POST', '/api/v1/notifications', {
        user_id: 'stats-cli',
        type: 'order_confirmed',
        context: getNotificationType('order_confirmed')!.sampleContext,
      });
      assert.equal(created.status, 201, await created.clone().text());

      const socket = statSync(operatorSocketPath(data.dir));
      assert.ok(socket.isSocket());
      assert.equal(socket.mode & 0o777, 0o600, 'only the owner may connect');
      assert.equal(
        statSync(operatorSocketPath(data.dir).replace(/\/operator\.sock$/, '')).mode & 0o777,
        0o700,
      );

      const json = await runToExit(['stats', '--today', '--json'], { DATA_DIR: data.dir }, PROCESS_MS);
      assert.equal(json.code, 0, json.stderr);
      const stats = JSON.parse(json.stdout) as { channels: { in_app: { total: number } } };
      assert.equal(stats.channels.in_app.total, 1, 'the notification just created, read through the serve');

      const text = await runToExit(['stats', '--today'], { DATA_DIR: data.dir }, PROCESS_MS);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout.split('\n')[0]!, /^SMS sent today: \d+$/);

      serve.child.kill('SIGTERM');
      assert.equal(await serve.exited(), 0, serve.stderr());
      assert.equal(existsSync(operatorSocketPath(data.dir)), false, 'a clean stop removes the socket');
    } finally {
      serve.kill();
      data.remove();
    }
  });
});
