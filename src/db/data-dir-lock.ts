import { randomUUID } from 'node:crypto';
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * An exclusive lock on the embedded data directory. PGlite is a single-process database: two
 * processes opening the same directory silently lose rows (measured), so the second one must fail
 * loudly instead.
 *
 * Liveness is a heartbeat on the filesystem, not a pid: pids are not comparable across pid
 * namespaces (containers, `unshare -p`), so "pid not alive" proved nothing and a second process took
 * a live lock over. The lock file (created atomically with `wx`) holds a random owner token; the
 * owner refreshes its mtime every `refreshMs` and checks on each refresh that the token is still its
 * own (if not, another process took the directory and this one must stop writing: `onCompromised`).
 * Another process treats the lock as abandoned only when the mtime has not moved for `staleMs`, and
 * re-checks after waiting one more refresh interval. The pid is a fast path only: when the lock was
 * written on this host in this pid namespace and its pid is dead, it is abandoned at once (a crashed
 * restart need not wait). Release removes the file only while it still holds our token.
 */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

export interface DataDirLock {
  release(): void;
}

export interface DataDirLockOptions {
  /** How often the owner refreshes the heartbeat. */
  refreshMs?: number;
  /** A heartbeat older than this is abandoned; several refresh intervals. */
  staleMs?: number;
  /** Called when the lock file no longer holds our token; the default exits the process loudly. */
  onCompromised?: (reason: string) => void;
}

export const LOCK_FILE = 'notify.lock';
const DEFAULT_REFRESH_MS = 5_000;
const DEFAULT_STALE_MS = 30_000;

/** What the lock file holds. */
export interface LockOwner {
  token: string;
  pid: number;
  host: string;
  pidNamespace: string;
}

export function currentOwner(token: string = randomUUID()): LockOwner {
  return { token, pid: process.pid, host: hostname(), pidNamespace: pidNamespace() };
}

export async function lockDataDir(dataDir: string, opts: DataDirLockOptions = {}): Promise<DataDirLock> {
  const refreshMs = opts.refreshMs ?? DEFAULT_REFRESH_MS;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const me = currentOwner();
  for (let tries = 0; tries < 3; tries++) {
    if (tryCreate(path, me)) return hold(path, me, refreshMs, opts.onCompromised ?? exitLoudly);
    const seen = inspect(path);
    if (!seen) continue; // released meanwhile
    if (!abandonedByPid(seen.owner)) {
      const age = Date.now() - seen.mtimeMs;
      if (age < staleMs) throw inUse(dataDir, seen.owner, age, staleMs);
      // Looks abandoned: wait one more refresh so a live but slow owner can show itself.
      await sleep(refreshMs);
      const again = inspect(path);
      if (!again) continue;
      if (again.raw !== seen.raw || again.mtimeMs !== seen.mtimeMs) {
        throw inUse(dataDir, again.owner, Date.now() - again.mtimeMs, staleMs);
      }
    }
    takeOver(path, seen.raw);
  }
  throw new DataDirLockedError(`Could not lock the data directory ${dataDir}`);
}

function tryCreate(path: string, me: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(me));
  } finally {
    closeSync(fd);
  }
  return true;
}

interface Seen {
  raw: string;
  owner: Partial<LockOwner>;
  mtimeMs: number;
}

function inspect(path: string): Seen | undefined {
  try {
    const mtimeMs = statSync(path).mtimeMs;
    const raw = readFileSync(path, 'utf8');
    return { raw, owner: parseOwner(raw), mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parseOwner(raw: string): Partial<LockOwner> {
  try {
    const v = JSON.parse(raw) as unknown;
    return v && typeof v === 'object' ? (v as Partial<LockOwner>) : {};
  } catch {
    return {}; // an older pid-only or half-written file: judged by its heartbeat alone
  }
}

/** Only a pid from this host and this pid namespace means anything here. */
function abandonedByPid(owner: Partial<LockOwner>): boolean {
  const here = currentOwner('');
  if (owner.host !== here.host || owner.pidNamespace !== here.pidNamespace || !owner.pidNamespace)
    return false;
  return Number.isInteger(owner.pid) && owner.pid !== process.pid && !isAlive(owner.pid as number);
}

/**
 * Move the abandoned file aside atomically, then check it was the one we judged: if another process
 * took over in between, we moved its fresh lock, so put it back (link fails if a third one exists)
 * and let the loop re-judge.
 */
function takeOver(path: string, judged: string): void {
  const aside = `${path}.stale-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    if (readFileSync(aside, 'utf8') !== judged) {
      try {
        linkSync(aside, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  } finally {
    rmSync(aside, { force: true });
  }
}

function holdsToken(path: string, token: string): boolean {
  try {
    return parseOwner(readFileSync(path, 'utf8')).token === token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function hold(
  path: string,
  me: LockOwner,
  refreshMs: number,
  onCompromised: (reason: string) => void,
): DataDirLock {
  let released = false;
  const timer = setInterval(() => {
    let reason: string | undefined;
    try {
      if (holdsToken(path, me.token)) {
        const now = new Date();
        utimesSync(path, now, now);
      } else {
        reason = `the lock file ${path} no longer holds this process's token (another process took the data directory over)`;
      }
    } catch (err) {
      reason = `the lock file ${path} could not be refreshed: ${(err as Error).message}`;
    }
    if (reason) {
      released = true;
      clearInterval(timer);
      onCompromised(reason);
    }
  }, refreshMs);
  timer.unref();
  return {
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      // Never delete a lock another process owns.
      if (holdsToken(path, me.token)) rmSync(path, { force: true });
    },
  };
}

function inUse(
  dataDir: string,
  owner: Partial<LockOwner>,
  ageMs: number,
  staleMs: number,
): DataDirLockedError {
  const who = Number.isInteger(owner.pid) ? ` (pid ${owner.pid} on ${owner.host ?? 'an unknown host'})` : '';
  return new DataDirLockedError(
    `The data directory ${dataDir} is in use by another process${who}: its lock was refreshed ` +
      `${Math.max(0, Math.round(ageMs / 1000))} s ago (a lock not refreshed for ${Math.round(staleMs / 1000)} s is ` +
      'taken over). The embedded database (PGlite) allows one process per data directory: stop the other ' +
      'process, point DATA_DIR elsewhere, or set DATABASE_URL to run several processes on PostgreSQL.',
  );
}

/** Two processes writing one PGlite directory lose rows: stopping is the only safe answer. */
function exitLoudly(reason: string): void {
  console.error(`FATAL: lost the data-directory lock: ${reason}. Exiting so two processes never write it.`);
  process.exit(70);
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return ''; // not Linux: the pid fast path is off, the heartbeat decides
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
