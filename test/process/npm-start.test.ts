import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { type CliProcess, listeningUrl, PROCESS_MS, runCli, runToExit, tempDataDir } from './cli.ts';

// `npm start` is the embedded engine: a fresh DATA_DIR, no DATABASE_URL.
const skip = ENGINE === 'postgres';

describe('npm start (serve on a fresh data directory)', { skip }, () => {
  test('prints its URL and a one-time admin key that works end to end', async () => {
    const data = tempDataDir();
    let p: CliProcess | undefined;
    try {
      p = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0' });
      const url = await listeningUrl(p);
      const keyLine = await p.waitForOutput(/Admin API key \(shown once[^:]*\): (\S+)/);
      const key = keyLine[1]!;
      assert.match(key, /^lcn_adm_/);
      const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROCESS_MS) });
      assert.equal(health.status, 200);

      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      const put = await fetch(`${url}/api/v1/users/u-start`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({ email: 'priya@example.com', first_name: 'Priya' }),
      });
      assert.equal(put.status, 201, await put.clone().text());
      const post = await fetch(`${url}/api/v1/notifications`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          user_id: 'u-start',
          type: 'order_confirmed',
          context: getNotificationType('order_confirmed')!.sampleContext,
        }),
      });
      assert.equal(post.status, 201, await post.clone().text());
      const { notification_id } = (await post.json()) as { notification_id: string };
      await waitFor(
        async () => {
          const res = await fetch(`${url}/api/v1/notifications/${notification_id}`, { headers });
          const view = (await res.json()) as { deliveries: Array<{ channel: string; status: string }> };
          return view.deliveries.find((d) => d.channel === 'in_app')?.status === 'delivered';
        },
        10_000,
        'in-app delivery delivered',
      );

      p.child.kill('SIGTERM');
      assert.equal(await p.exited(), 0, p.stderr());
      assert.ok(
        !p
          .stdout()
          .slice(p.stdout().indexOf(key) + key.length)
          .includes(key),
        'key shown once',
      );
    } finally {
      p?.kill();
      data.remove();
    }
  });

  test('a second start on the same data directory does not print a new admin key', async () => {
    const data = tempDataDir();
    const procs: CliProcess[] = [];
    try {
      for (const round of [1, 2]) {
        const p = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0' });
        procs.push(p);
        const url = await listeningUrl(p);
        // Answering a request proves the start-up code (and its signal handlers) has run to the end.
        assert.equal((await fetch(`${url}/healthz`)).status, 200);
        p.child.kill('SIGTERM');
        assert.equal(await p.exited(), 0, `round ${round}: ${p.stdout()}${p.stderr()}`);
        assert.equal(/Admin API key/.test(p.stdout()), round === 1, p.stdout());
      }
    } finally {
      for (const p of procs) p.kill();
      data.remove();
    }
  });
});

describe('command line', { skip }, () => {
  test('--help lists serve, worker and migrate and exits 0', async () => {
    const r = await runToExit(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const command of ['serve', 'api', 'worker', 'migrate']) {
      assert.match(r.stdout, new RegExp(`^ {2}${command}\\s`, 'm'), r.stdout);
    }
  });

  test('an unknown command exits 2 with the usage', async () => {
    const r = await runToExit(['bogus']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown command "bogus"/);
    assert.match(r.stderr, /Usage: laundryconnect-notify/);
  });

  test('serve --help exits 0 without starting anything; an unknown option exits 2', async () => {
    const help = await runToExit(['serve', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: laundryconnect-notify serve/);
    assert.doesNotMatch(help.stdout, /listening on/);
    const bad = await runToExit(['serve', '--bogus']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Usage:/);
  });
});
