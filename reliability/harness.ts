/**
 * What every fault scenario shares: an external Twilio sandbox process (it counts what arrived), a
 * fresh database seeded with SMS-opted-in users (it counts what was created), a client that submits
 * notifications idempotently and retries what the service refused (the figures: figures.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { type Database, openDatabase, queryRows } from '../src/db/database.ts';
import { createLogger } from '../src/logger.ts';
import { type CliProcess, runCli, runToExit } from '../test/process/cli.ts';

export const SID = 'AC7e1ab111e0000000000000000000cafe';
export const TOKEN = 'reliab1e0reliab1e0reliab1e0abcd12';
export const ADMIN_KEY = 'lcn_adm_reliability_suite_key_0123456789';
export const PG_ADMIN_URL =
  process.env['RELIABILITY_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const silent = createLogger('silent');

/** Settings that make retries, leases and polls fast enough to watch recovery within a test. */
export const FAST_ENV: Record<string, string> = {
  HOST: '127.0.0.1',
  ADMIN_API_KEY: ADMIN_KEY,
  LOG_LEVEL: 'warn',
  SMS_BACKEND: 'sandbox',
  TWILIO_ACCOUNT_SID: SID,
  TWILIO_AUTH_TOKEN: TOKEN,
  SMS_RETRY_DELAY_MS: '200',
  SMS_REQUEST_TIMEOUT_MS: '1000',
  WORKER_LEASE_MS: '3000',
  WORKER_POLL_MS: '100',
  WORKER_SHUTDOWN_GRACE_MS: '3000',
  RATE_LIMIT_PER_MINUTE: '1000000',
  QUIET_HOURS_DEFAULT: 'off',
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A random integer in [min, max]. */
export const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
export const phoneOf = (i: number) => `+9198765${String(i).padStart(5, '0')}`;
export const orderOf = (i: number) => `R${i}`;

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

// ---- the sandbox: what arrived ----

export interface Sandbox {
  url: string;
  proc: CliProcess;
  setFaults(faults: object): Promise<void>;
  messages(): Promise<Array<{ to: string; body: string; sid: string; status: string }>>;
  stats(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startSandbox(stepMs = 50): Promise<Sandbox> {
  const proc = runCli(
    ['sandbox', '--port', '0', '--account-sid', SID, '--auth-token', TOKEN, '--step-ms', String(stepMs)],
    { LOG_LEVEL: 'warn' },
  );
  const url = (await proc.waitForOutput(/listening on (http:\/\/\S+)/))[1]!;
  const json = async (method: string, path: string, body?: object) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`sandbox ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<Record<string, unknown>>;
  };
  return {
    url,
    proc,
    setFaults: async (faults) => void (await json('PUT', '/sandbox/faults', faults)),
    messages: async () =>
      (await json('GET', '/sandbox/messages?limit=1000000'))['messages'] as Array<{
        to: string;
        body: string;
        sid: string;
        status: string;
      }>,
    stats: () => json('GET', '/sandbox/stats'),
    async stop() {
      proc.child.kill('SIGTERM');
      await proc.exited(10_000).catch(() => proc.kill());
    },
  };
}

// ---- the database: what was created ----

export interface Store {
  engine: 'postgres' | 'pglite';
  /** Env that points a service process at this store. */
  env: Record<string, string>;
  /** A PostgreSQL connection string (undefined on PGlite). */
  url: string | undefined;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function createStore(engine: 'postgres' | 'pglite', dataDir?: string): Promise<Store> {
  if (engine === 'pglite') {
    const dir = dataDir!;
    const migrated = await runToExit(['migrate'], { DATA_DIR: dir }, 120_000);
    if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
    return {
      engine,
      env: { DATA_DIR: dir },
      url: undefined,
      open: () => openDatabase({ dataDir: dir, logger: silent }),
      drop: async () => {},
    };
  }
  const name = `lcn_rel_${randomBytes(5).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const migrated = await runToExit(['migrate'], { DATABASE_URL: url }, 120_000);
  if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  return {
    engine,
    env: { DATABASE_URL: url },
    url,
    open: () => openDatabase({ databaseUrl: url, dataDir: 'unused', logger: silent }),
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

/** `count` users `rel-<i>`, each with phone phoneOf(i), opted in to order SMS; no email (less noise). */
export async function seedUsers(store: Store, count: number): Promise<void> {
  const database = await store.open();
  try {
    await database.db.execute(sql`
      insert into users (external_id, phone, first_name)
      select 'rel-' || g, '+9198765' || lpad(g::text, 5, '0'), 'Asha' from generate_series(0, ${count - 1}) g`);
    await database.db.execute(sql`
      insert into notification_preferences (user_id, category, channel, enabled)
      select id, 'order_updates', 'sms', true from users where external_id like 'rel-%'`);
  } finally {
    await database.close();
  }
}

// ---- the client: what was asked ----

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface Reply {
  status: number;
  retryAfter: string | null;
  body: string;
}

/** One POST over a keep-alive agent; rejects on a network error (refused, reset). */
export function post(base: string, path: string, body: object, headers: Record<string, string> = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      `${base}${path}`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
          authorization: `Bearer ${ADMIN_KEY}`,
          ...headers,
        },
        timeout: 60_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: (res.headers['retry-after'] as string) ?? null,
            body: text,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(data);
  });
}

export const notificationBody = (i: number) => ({
  user_id: `rel-${i}`,
  type: 'order_confirmed',
  context: { order: { order_number: orderOf(i), pickup_date: 'Sat 9-11' } },
});

export interface SubmitStats {
  accepted: number;
  /** Answers other than 2xx seen on the way (each retried): status → count. */
  refusals: Record<string, number>;
  networkErrors: number;
}

export interface SubmitOptions {
  /** Requests in flight at once (default 32). */
  concurrency?: number;
  /** The first notification's number (default 0): a second run continues where a first stopped. */
  first?: number;
  /** Stops the submission (it then rejects with the signal's reason): the scenario failed elsewhere. */
  signal?: AbortSignal;
  /**
   * How long one notification may go unaccepted before the submission fails (default 5 min). A
   * restart takes seconds; without a bound a service that never comes back would keep the retries
   * (and the test file) running until CI's own limit.
   */
  giveUpMs?: number;
}

/**
 * Submit notifications first..count-1 at about `perSecond`, each with an Idempotency-Key, retrying any
 * refusal or network error (a killed or restarting service) until it is accepted. The first
 * notification that cannot be submitted stops every lane.
 */
export async function submitAll(
  baseUrl: () => string,
  count: number,
  perSecond: number,
  { concurrency = 32, first = 0, signal, giveUpMs = 300_000 }: SubmitOptions = {},
): Promise<SubmitStats> {
  const stats: SubmitStats = { accepted: 0, refusals: {}, networkErrors: 0 };
  const failed = new AbortController();
  const stop = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  let next = first;
  const started = Date.now();
  async function one(i: number) {
    const since = Date.now();
    let last = '';
    for (let attempt = 0; ; attempt++) {
      stop.throwIfAborted();
      if (Date.now() - since > giveUpMs) {
        throw new Error(`notification ${i} not accepted within ${giveUpMs} ms of retries (last: ${last})`);
      }
      let wait: number;
      try {
        const r = await post(baseUrl(), '/api/v1/notifications', notificationBody(i), {
          'idempotency-key': `rel-${i}`,
        });
        if (r.status === 200 || r.status === 201) {
          stats.accepted++;
          return;
        }
        stats.refusals[r.status] = (stats.refusals[r.status] ?? 0) + 1;
        if (r.status < 500 && r.status !== 429)
          throw new RefusedForGood(`notification ${i}: ${r.status} ${r.body}`);
        last = `${r.status}`;
        wait = r.retryAfter ? Math.min(Number(r.retryAfter) * 1000, 2000) : 200;
      } catch (err) {
        if (err instanceof RefusedForGood) throw err;
        stats.networkErrors++;
        last = (err as Error).message;
        wait = Math.min(200 * (attempt + 1), 1000);
      }
      await delay(wait, undefined, { signal: stop });
    }
  }
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      try {
        for (;;) {
          const i = next++;
          if (i >= count) return;
          const due = started + ((i - first) / perSecond) * 1000;
          const early = due - Date.now();
          if (early > 0) await delay(early, undefined, { signal: stop });
          await one(i);
        }
      } catch (err) {
        failed.abort(err);
        throw err;
      }
    }),
  );
  return stats;
}

/**
 * submitAll in the background while the scenario injects its faults. `stop()` (call it in `finally`)
 * ends the submission when the scenario failed first, so nothing keeps retrying against a service
 * the test has killed; awaiting `done` still reports the submission's own failure, and a failure
 * nobody awaited is never an unhandled rejection.
 */
export function backgroundLoad(
  baseUrl: () => string,
  count: number,
  perSecond: number,
  options: Omit<SubmitOptions, 'signal'> = {},
): { done: Promise<SubmitStats>; submitting(): boolean; stop(): void } {
  const controller = new AbortController();
  let submitting = true;
  const done = submitAll(baseUrl, count, perSecond, { ...options, signal: controller.signal }).finally(() => {
    submitting = false;
  });
  done.catch(() => {});
  return { done, submitting: () => submitting, stop: () => controller.abort(new Error('scenario ended')) };
}

/** A 4xx the service will answer every time: retrying cannot help. */
class RefusedForGood extends Error {}

/** Poll `check` every `everyMs` until it returns true or `timeoutMs` passes (then throws `label`). */
export async function until(check: () => Promise<boolean>, timeoutMs: number, label: string, everyMs = 500) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${label}`);
    await sleep(everyMs);
  }
}

/**
 * Wait until `remaining` reaches 0, failing only when it has not moved for `stallMs`: how long a
 * drain takes depends on the machine (a loaded CI box sends 18,000 status callbacks several times
 * slower than a quiet one), while "stuck" does not. A read that fails counts as no progress.
 */
export async function untilDrained(
  remaining: () => Promise<number>,
  stallMs: number,
  label: string,
  everyMs = 250,
) {
  let last = Number.POSITIVE_INFINITY;
  let movedAt = Date.now();
  for (;;) {
    const now = await remaining().catch(() => last);
    if (now === 0) return;
    if (now !== last) {
      last = now;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) {
      throw new Error(`${label}: ${last} left, no progress for ${stallMs} ms`);
    }
    await sleep(everyMs);
  }
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

/** Count of SMS deliveries not yet settled (queued or sending); PostgreSQL stores only (PGlite is locked). */
export async function unsettled(store: Store): Promise<number> {
  const database = await store.open();
  try {
    const [r] = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from deliveries where channel = 'sms' and status in ('queued', 'sending')`,
    );
    return r!.n;
  } finally {
    await database.close();
  }
}

/** Distinct notifications (by order number) that reached the sandbox. */
export async function arrivedCount(sandbox: Sandbox): Promise<number> {
  const seen = new Set<string>();
  for (const m of await sandbox.messages()) seen.add(m.body);
  return seen.size;
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

export { type CliProcess, runCli };
