import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real entry point, run as `npm start` runs it (node bin/laundryconnect-notify.js <command>). */
export const BIN = fileURLToPath(new URL('../../bin/laundryconnect-notify.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/**
 * How long a process may take to start or stop before the test calls it hung. Idle, `serve` on a
 * fresh PGlite directory is up in ~5 s and a restart in ~2.5 s, but on a 2-core machine at load 11
 * (other suites and benches at once) a fresh `serve` was seen to take 82 s: this bounds a hang, not speed.
 */
export const PROCESS_MS = 150_000;

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; rejects on exit or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The exit code (or the signal name when killed by one); rejects after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<number | string>;
  /** SIGKILL if still running (for `after`/`finally`). */
  kill(): void;
}

const running = new Set<ChildProcess>();
// A crashed test run must not leave servers behind.
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Spawn the CLI with the test's Node. The environment starts from the caller's minus anything that
 * would point the child at another database; `env` is laid on top.
 */
export function runCli(args: string[], env: Record<string, string> = {}, wrapper: string[] = []): CliProcess {
  // `wrapper` runs the CLI under another command (e.g. `unshare ...`).
  const [command, ...pre] = [...wrapper, process.execPath];
  const child = spawn(command as string, [...pre, BIN, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: '',
      ADMIN_API_KEY: '',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      // As testConfig: Twilio alone unless the test names both (a reclaimed Vonage send in doubt
      // waits VONAGE_RECONCILE_WINDOW_MS for its receipt before it may be resent).
      SMS_PROVIDERS: 'twilio',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk;
  });
  const exit = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? -1);
    });
  });
  const describe = () => `\n--- stdout ---\n${out}\n--- stderr ---\n${err}`;
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    async waitForOutput(pattern, timeoutMs = PROCESS_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(
            `process exited (${child.exitCode ?? child.signalCode}) before ${pattern}${describe()}`,
          );
        if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms${describe()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async exited(timeoutMs = PROCESS_MS) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`process still running after ${timeoutMs} ms${describe()}`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exit, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Run a command to completion and return its exit code and output. */
export async function runToExit(args: string[], env: Record<string, string> = {}, timeoutMs = PROCESS_MS) {
  const p = runCli(args, env);
  try {
    const code = await p.exited(timeoutMs);
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  } finally {
    p.kill();
  }
}

/** `serve` prints `listening on http://127.0.0.1:<port>`; returns that base URL. */
export async function listeningUrl(p: CliProcess, timeoutMs = PROCESS_MS): Promise<string> {
  const m = await p.waitForOutput(/listening on (http:\/\/127\.0\.0\.1:(\d+))/, timeoutMs);
  return m[1]!;
}

/** A fresh temporary data directory, removed by the returned cleanup. */
export function tempDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'lcn-data-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
