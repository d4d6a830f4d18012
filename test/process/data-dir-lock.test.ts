import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ENGINE } from '../helpers/test-db.ts';
import { type CliProcess, listeningUrl, PROCESS_MS, runCli, tempDataDir } from './cli.ts';

// The lock guards the embedded database only; on PostgreSQL several processes are the point.
const skip = ENGINE === 'postgres';

/** A pid that certainly belongs to no running process: a child that has already exited. */
function deadPid(): number {
  const done = spawnSync(process.execPath, ['-e', '']);
  assert.equal(done.status, 0);
  return done.pid!;
}

async function healthy(url: string): Promise<void> {
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(PROCESS_MS) });
  assert.equal(res.status, 200);
}

describe('one process per embedded data directory', { skip }, () => {
  test('a second serve on the same DATA_DIR exits non-zero naming the directory; after SIGTERM the dir is free again', async () => {
    const data = tempDataDir();
    const procs: CliProcess[] = [];
    const serve = () => {
      const p = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0' });
      procs.push(p);
      return p;
    };
    try {
      const first = serve();
      const url = await listeningUrl(first);
      await healthy(url);
      const lockFile = join(data.dir, 'notify.lock');
      assert.equal(readFileSync(lockFile, 'utf8'), String(first.child.pid));

      const second = serve();
      const code = await second.exited();
      assert.notEqual(code, 0, second.stdout());
      assert.ok(second.stderr().includes(data.dir), second.stderr());
      assert.match(second.stderr(), /another process/);
      assert.ok(second.stderr().includes(`pid ${first.child.pid}`), second.stderr());
      assert.doesNotMatch(second.stdout(), /listening on/);
      // The refused process left the owner alone.
      await healthy(url);
      assert.equal(readFileSync(lockFile, 'utf8'), String(first.child.pid));

      first.child.kill('SIGTERM');
      assert.equal(await first.exited(), 0, first.stderr());
      assert.match(first.stdout(), /Stopped cleanly/);
      assert.equal(existsSync(lockFile), false, 'a clean stop releases the lock');

      const third = serve();
      await healthy(await listeningUrl(third));
      third.child.kill('SIGTERM');
      assert.equal(await third.exited(), 0, third.stderr());
    } finally {
      for (const p of procs) p.kill();
      data.remove();
    }
  });

  test('a stale lock file holding a dead pid is taken over', async () => {
    const data = tempDataDir();
    let p: CliProcess | undefined;
    try {
      mkdirSync(data.dir, { recursive: true });
      const lockFile = join(data.dir, 'notify.lock');
      const dead = deadPid();
      writeFileSync(lockFile, String(dead));
      p = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0' });
      await healthy(await listeningUrl(p));
      assert.equal(readFileSync(lockFile, 'utf8'), String(p.child.pid));
      p.child.kill('SIGTERM');
      assert.equal(await p.exited(), 0, p.stderr());
    } finally {
      p?.kill();
      data.remove();
    }
  });
});
