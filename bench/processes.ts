import { type ChildProcess, fork, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root and the CLI entry point, run exactly as `npm start` runs it. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = fileURLToPath(new URL('../bin/laundryconnect-notify.js', import.meta.url));

export interface BenchProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code (or signal) when the process ends by itself. */
  exited(): Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
}

const live = new Set<ChildProcess>();
// A bench that crashes or is interrupted must not leave servers behind.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Spawn a Node script (the CLI by default) with the bench's Node and the given environment. */
export function startProcess(
  name: string,
  args: string[],
  env: Record<string, string>,
  opts: { nodeArgs?: string[]; ipc?: boolean } = {},
): BenchProcess {
  const base = { ...process.env, ...env };
  const child = opts.ipc
    ? fork(args[0]!, args.slice(1), {
        cwd: ROOT,
        env: base,
        execArgv: opts.nodeArgs ?? [],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      })
    : spawn(process.execPath, [...(opts.nodeArgs ?? []), ...args], {
        cwd: ROOT,
        env: base,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  live.add(child);
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? -1);
    }),
  );
  return {
    name,
    child,
    output: () => out,
    exited: () => exited,
    async waitFor(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(out);
        if (m) return m;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${name} exited before printing ${pattern}:\n${out.slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`${name}: no ${pattern} in ${timeoutMs} ms:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Run a Node script to completion; its last stdout line is JSON (the floors report this way). */
export async function runJsonProcess<T>(name: string, args: string[], env: Record<string, string> = {}) {
  const p = startProcess(name, args, env);
  const stats = new ProcessSampler(p.child.pid!);
  const timer = setInterval(() => stats.sample(), 250);
  const code = await p.exited();
  clearInterval(timer);
  if (code !== 0) throw new Error(`${name} failed (${code}):\n${p.output().slice(-4000)}`);
  const last = p.output().trim().split('\n').at(-1) ?? '';
  return { result: JSON.parse(last) as T, peakRssMb: stats.peakRssMb };
}

/** A free TCP port on loopback (bound, read, released), for a server that must know its URL up front. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process in seconds, from /proc/<pid>/stat; undefined once it has exited. */
function cpuSecondsOf(pid: number | string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

export interface Sampler {
  sample(): void;
  readonly cpuSeconds: number;
  /** 0 where a peak RSS means nothing (see PostgresServerSampler). */
  readonly peakRssMb: number;
}

/**
 * The CPU of the whole PostgreSQL server the service talks to: every process named `postgres`
 * (backends, WAL writer, checkpointer). On PostgreSQL the database work is done there, not in our
 * processes, so without it the CPU row would hide where the time goes. RSS is not summed: shared
 * buffers would count once per backend. A backend that exits takes its CPU time with it; the
 * service's pooled connections live through a phase.
 */
export class PostgresServerSampler implements Sampler {
  readonly peakRssMb = 0;
  cpuSeconds = 0;

  constructor() {
    this.sample();
  }

  sample(): void {
    let total = 0;
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      } catch {
        continue;
      }
      total += cpuSecondsOf(pid) ?? 0;
    }
    this.cpuSeconds = total;
  }
}

/**
 * Peak RSS (VmHWM) and CPU seconds (utime + stime) of a process, from /proc. `sample()` keeps the
 * last readings, so the figures survive the process's exit.
 */
export class ProcessSampler implements Sampler {
  readonly pid: number;
  peakRssMb = 0;
  cpuSeconds = 0;

  constructor(pid: number) {
    this.pid = pid;
    this.sample();
  }

  sample(): void {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      if (hwm) this.peakRssMb = Math.max(this.peakRssMb, Number(hwm[1]) / 1024);
      this.cpuSeconds = cpuSecondsOf(this.pid) ?? this.cpuSeconds;
    } catch {
      // The process has exited: keep the last readings.
    }
  }
}
