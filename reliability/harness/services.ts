/** The service's processes as a scenario runs them: started on a port of their own, drained, restarted, measured. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { type CliProcess, runCli } from '../../test/process/cli.ts';
import type { Sandbox } from './sandbox.ts';
import { type Store, unsettled } from './store.ts';
import { between, until } from './wait.ts';

/**
 * A free port for a service the test restarts on the same address. It is drawn from below the
 * kernel's ephemeral range: a port from inside it (what listen(0) gives) can be taken as the source
 * port of any outgoing connection while the service is down, and the restart then fails with
 * EADDRINUSE (it did, in CI, after a SIGKILL under load).
 */
export async function freePort(): Promise<number> {
  const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    .trim()
    .split(/\s+/)
    .map(Number);
  const top = Math.max((low ?? 32768) - 1, 11_000);
  for (let tries = 0; tries < 200; tries++) {
    const port = between(10_000, top);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between 10000 and ${top}`);
}

function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * An `api` process on a free port, added to `procs`, once it listens. `env` is `settings` with
 * PUBLIC_URL pointing at it (what its workers need for the status-callback URL); `apiOnly` goes to
 * the API process alone.
 */
export async function startApiProcess(
  procs: CliProcess[],
  settings: Record<string, string>,
  apiOnly: Record<string, string> = {},
): Promise<{ api: CliProcess; url: string; env: Record<string, string> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { ...settings, PUBLIC_URL: url };
  const api = runCli(['api'], { ...env, ...apiOnly, PORT: String(port) });
  procs.push(api);
  await api.waitForOutput(/listening on/, 60_000);
  return { api, url, env };
}

/** The embedded service as a scenario drives it: one `serve` process it kills and starts again. */
export interface EmbeddedServe {
  url: string;
  /** The process running now (the last one started). */
  current(): CliProcess;
  /** Start `serve` again on the same data directory and address; resolves once it listens. */
  start(): Promise<void>;
}

/**
 * `serve` (API + worker in one process) on a port of its own, added to `procs`, once it listens;
 * `settings` gets PUBLIC_URL and PORT. A restart that finds the port taken waits for it and tries
 * again (twice): the port is outside the ephemeral range, but nothing stops another program on
 * the machine binding it for a moment, and that is not the fault the scenario injects.
 */
export async function startEmbeddedServe(
  procs: CliProcess[],
  settings: Record<string, string>,
): Promise<EmbeddedServe> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let serve: CliProcess | undefined;
  const start = async () => {
    for (let attempt = 1; ; attempt++) {
      serve = runCli(['serve'], {
        ...settings,
        PUBLIC_URL: url,
        PORT: String(port),
        WORKER_ID: `serve-${Date.now()}`,
      });
      procs.push(serve);
      try {
        await serve.waitForOutput(/listening on/, 120_000);
        return;
      } catch (err) {
        if (attempt >= 3 || !serve.stderr().includes('EADDRINUSE')) throw err;
        await until(() => bindable(port), 30_000, `port ${port} free again`, 200);
      }
    }
  };
  await start();
  return { url, current: () => serve!, start };
}

/** Resident memory of a process in MB (Linux). */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return 0;
  }
}

/**
 * Stop processes that can send (SIGTERM: a worker stops claiming, drains its in-flight sends and
 * writes their outcomes) and wait until they have exited. Past this no late send or duplicate can
 * reach the sandbox: the event a fixed "wait out two leases" sleep only hoped for.
 */
export async function drainAndStop(procs: readonly CliProcess[]): Promise<void> {
  const live = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
  // A process restarted a moment ago may still be loading its modules, before it listens for
  // SIGTERM; the signal would kill it outright. Its start-up line says the handler is in place.
  await Promise.all(live.map((p) => p.waitForOutput(/listening on|Delivery worker \S+ running/, 60_000)));
  for (const p of live) p.child.kill('SIGTERM');
  for (const p of live) assert.equal(await p.exited(60_000), 0, p.stderr());
}

/**
 * The embedded engine's data directory is locked by its one `serve` process, so "settled" can only
 * be read with it stopped: once every SMS reached the sandbox and its callbacks were answered, stop it (it drains) and count what is
 * still queued or sending; while some are (a retry or an expired lease due later), start it again
 * and repeat. Returns with the service stopped and nothing unsettled: no send can still arrive.
 */
export async function settleEmbedded(opts: {
  store: Store;
  sandbox: Sandbox;
  count: number;
  serve: () => CliProcess;
  restart: () => Promise<void>;
  timeoutMs: number;
}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  await until(
    async () => (await opts.sandbox.messages()).length >= opts.count,
    opts.timeoutMs,
    'every SMS reached the sandbox',
    1000,
  );
  for (;;) {
    // Stopped only once the sandbox owes no status callbacks, or they would be refused and counted `sent`.
    await until(
      async () => {
        const s = await opts.sandbox.stats();
        return Number(s['pendingSteps']) === 0 && Number(s['callbacksInFlight']) === 0;
      },
      opts.timeoutMs,
      'status callbacks answered',
      250,
    );
    await drainAndStop([opts.serve()]);
    const left = await unsettled(opts.store);
    if (left === 0) return;
    if (Date.now() > deadline) throw new Error(`${left} SMS deliveries still unsettled`);
    await opts.restart();
  }
}
