import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADMIN_KEY } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';
import { type CliProcess, listeningUrl, runCli } from '../process/cli.ts';
import { notifyOverHttp, userWithToken } from './helpers.ts';
import { connectWithHeader, ofType } from './ws-client.ts';

// Several API processes on one database is the PostgreSQL deployment; PGlite allows one process.
describe('live inbox across API nodes (LISTEN/NOTIFY)', { skip: ENGINE !== 'postgres' }, () => {
  test('a user connected to node A gets a notification created and delivered on node B', async (ctx) => {
    const t = await createTestDatabase();
    const procs: CliProcess[] = [];
    try {
      const env = {
        DATABASE_URL: t.url!,
        PORT: '0',
        ADMIN_API_KEY: ADMIN_KEY,
        USER_TOKEN_SECRET: 'scale-out-secret-0123456789abcdefghijkl',
      };
      // A serves the API only (no worker): whatever reaches its socket came through PostgreSQL.
      const nodeA = runCli(['api'], env);
      const nodeB = runCli(['serve'], env);
      procs.push(nodeA, nodeB);
      const [urlA, urlB] = await Promise.all([listeningUrl(nodeA, 30_000), listeningUrl(nodeB, 30_000)]);

      const token = await userWithToken(urlB, 'scale-out-user');
      const socket = await connectWithHeader(ctx, urlA, token);
      const started = performance.now();
      const id = await notifyOverHttp(urlB, 'scale-out-user');
      const pushed = await socket.next(
        (m) => m.type === 'notification' && m.notification.notification_id === id,
      );
      ctx.diagnostic(`created on B → pushed by A: ${(pushed.at - started).toFixed(0)} ms`);
      assert.equal(pushed.notification.title, 'Order confirmed');
      assert.equal(pushed.unread_count, 1);

      // Read on B, heard on A.
      await fetch(`${urlB}/api/v1/inbox/${id}/read`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      const read = await socket.next(ofType('notification.read'));
      assert.equal(read.notification_id, id);
      assert.equal(read.unread_count, 0);

      for (const p of procs) p.child.kill('SIGTERM');
      assert.deepEqual(await Promise.all(procs.map((p) => p.exited(20_000))), [0, 0]);
    } finally {
      for (const p of procs) p.kill();
      await t.close();
    }
  });
});
