import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  currentOwner,
  DataDirLockedError,
  LOCK_FILE,
  type LockOwner,
  lockDataDir,
} from '../../src/db/data-dir-lock.ts';
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

function ownerOf(lockFile: string): LockOwner {
  return JSON.parse(readFileSync(lockFile, 'utf8')) as LockOwner;
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
      assert.equal(ownerOf(lockFile).pid, first.child.pid);

      const second = serve();
      const code = await second.exited();
      assert.notEqual(code, 0, second.stdout());
      assert.ok(second.stderr().includes(data.dir), second.stderr());
      assert.match(second.stderr(), /another process/);
      assert.ok(second.stderr().includes(`pid ${first.child.pid}`), second.stderr());
      assert.doesNotMatch(second.stdout(), /listening on/);
      // The refused process left the owner alone.
      await healthy(url);
      assert.equal(ownerOf(lockFile).pid, first.child.pid);

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

  test('a lock file from this pid namespace holding a dead pid is taken over at once', async () => {
    const data = tempDataDir();
    let p: CliProcess | undefined;
    try {
      mkdirSync(data.dir, { recursive: true });
      const lockFile = join(data.dir, 'notify.lock');
      const dead = deadPid();
      writeFileSync(lockFile, JSON.stringify({ ...currentOwner(), pid: dead }));
      p = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0' });
      await healthy(await listeningUrl(p));
      assert.equal(ownerOf(lockFile).pid, p.child.pid);
      p.child.kill('SIGTERM');
      assert.equal(await p.exited(), 0, p.stderr());
    } finally {
      p?.kill();
      data.remove();
    }
  });

  test('a second serve in another pid namespace is refused and leaves the owner alone', async (t) => {
    if (
      process.platform !== 'linux' ||
      spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true']).status !== 0
    ) {
      t.skip('unshare -p -f --mount-proc is not available here (needs Linux and root)');
      return;
    }
    const data = tempDataDir();
    const procs: CliProcess[] = [];
    try {
      const first = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0' });
      procs.push(first);
      const url = await listeningUrl(first);
      const lockFile = join(data.dir, LOCK_FILE);
      const before = readFileSync(lockFile, 'utf8');
      // Its pid does not exist in the new namespace: only the heartbeat can tell the owner is alive.
      const second = runCli(['serve'], { DATA_DIR: data.dir, PORT: '0' }, [
        'unshare',
        '-p',
        '-f',
        '--mount-proc',
        '--kill-child',
      ]);
      procs.push(second);
      const code = await second.exited();
      assert.notEqual(code, 0, second.stdout());
      assert.match(second.stderr(), /another process/);
      assert.doesNotMatch(second.stdout(), /listening on/);
      await healthy(url);
      assert.equal(readFileSync(lockFile, 'utf8'), before);
      first.child.kill('SIGTERM');
      assert.equal(await first.exited(), 0, first.stderr());
    } finally {
      for (const p of procs) p.kill();
      data.remove();
    }
  });
});

/** Intervals short enough for tests; the heartbeat logic is the same at any scale. */
const FAST = { refreshMs: 40, staleMs: 400 } as const;

function foreignOwner(): LockOwner {
  // As a process in another container writes it: its pid means nothing here.
  return { token: 'someone-else', pid: deadPid(), host: 'another-host', pidNamespace: 'pid:[1]' };
}

function lockDir(): { dir: string; file: string; remove(): void } {
  const data = tempDataDir();
  mkdirSync(data.dir, { recursive: true });
  return { dir: data.dir, file: join(data.dir, LOCK_FILE), remove: data.remove };
}

/** A real second process holding the lock, refreshing its heartbeat every 20 ms. */
async function holderProcess(dir: string) {
  const script =
    `const { lockDataDir } = await import(${JSON.stringify(new URL('../../src/db/data-dir-lock.ts', import.meta.url).href)});` +
    `await lockDataDir(${JSON.stringify(dir)}, { refreshMs: 20, staleMs: 400 });` +
    `console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('locked') && resolve());
    child.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
  return child;
}

describe('the data-directory lock is a heartbeat, not a pid', { skip }, () => {
  test('a fresh lock whose pid is not visible here is not taken over', async () => {
    const d = lockDir();
    try {
      const foreign = JSON.stringify(foreignOwner());
      writeFileSync(d.file, foreign);
      await assert.rejects(lockDataDir(d.dir, FAST), DataDirLockedError);
      assert.equal(readFileSync(d.file, 'utf8'), foreign);
    } finally {
      d.remove();
    }
  });

  test('a lock whose heartbeat stopped is taken over after the stale period', async () => {
    const d = lockDir();
    try {
      writeFileSync(d.file, JSON.stringify(foreignOwner()));
      const old = new Date(Date.now() - FAST.staleMs * 2);
      utimesSync(d.file, old, old);
      const lock = await lockDataDir(d.dir, FAST);
      assert.equal(ownerOf(d.file).pid, process.pid);
      lock.release();
      assert.equal(existsSync(d.file), false);
    } finally {
      d.remove();
    }
  });

  test('a live owner whose heartbeat looks old is seen refreshing on the re-check and kept; SIGKILLed, it is taken over', async () => {
    const d = lockDir();
    const holder = await holderProcess(d.dir);
    try {
      const held = readFileSync(d.file, 'utf8');
      const old = new Date(Date.now() - FAST.staleMs * 2);
      utimesSync(d.file, old, old);
      await assert.rejects(lockDataDir(d.dir, { refreshMs: 200, staleMs: FAST.staleMs }), DataDirLockedError);
      assert.equal(readFileSync(d.file, 'utf8'), held);

      const gone = new Promise((resolve) => holder.once('exit', resolve));
      holder.kill('SIGKILL');
      await gone;
      const lock = await lockDataDir(d.dir, FAST);
      assert.equal(ownerOf(d.file).pid, process.pid);
      lock.release();
    } finally {
      holder.kill('SIGKILL');
      d.remove();
    }
  });

  test('release never deletes a lock another process owns, and the displaced owner is told', async () => {
    const d = lockDir();
    try {
      let compromised!: (reason: string) => void;
      const told = new Promise<string>((resolve) => {
        compromised = resolve;
      });
      const lock = await lockDataDir(d.dir, { ...FAST, onCompromised: compromised });
      const other = JSON.stringify(foreignOwner());
      writeFileSync(d.file, other);
      assert.match(await told, /no longer holds this process's token/);
      lock.release();
      assert.equal(readFileSync(d.file, 'utf8'), other);
    } finally {
      d.remove();
    }
  });
});
