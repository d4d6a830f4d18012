/**
 * The system under test, started as a user starts it: the Twilio sandbox as its own process
 * (`laundryconnect-notify sandbox`), then `serve` (embedded PGlite, one process) or `api` + `worker`
 * (PostgreSQL), pointed at the sandbox with the same SID and token.
 */
import { randomBytes } from 'node:crypto';
import type { BenchDatabase } from './environment.ts';
import { type BenchProcess, BIN, freePort, startProcess } from './processes.ts';

export interface Sandbox {
  process: BenchProcess;
  url: string;
  accountSid: string;
  authToken: string;
  stats(): Promise<SandboxStats>;
  /** sid, recipient and receipt time (epoch ms) of every stored message, then forget them. */
  drainMessages(): Promise<{ sid: string; to: string; receivedAt: number }[]>;
}

export interface SandboxStats {
  created: number;
  callbacksSent: number;
  callbacksFailed: number;
  pendingSteps: number;
  stored: number;
  rejected: Record<string, number>;
}

export async function startSandbox(name: string, stepMs: number): Promise<Sandbox> {
  const accountSid = `AC${randomBytes(16).toString('hex')}`;
  const authToken = randomBytes(16).toString('hex');
  const port = await freePort();
  const process = startProcess(
    name,
    [
      BIN,
      'sandbox',
      '--port',
      String(port),
      '--account-sid',
      accountSid,
      '--auth-token',
      authToken,
      '--step-ms',
      String(stepMs),
    ],
    {},
  );
  const url = (await process.waitFor(/Twilio sandbox listening on (http:\/\/\S+)/))[1]!;
  return {
    process,
    url,
    accountSid,
    authToken,
    async stats() {
      const res = await fetch(`${url}/sandbox/stats`);
      return (await res.json()) as SandboxStats;
    },
    async drainMessages() {
      const res = await fetch(`${url}/sandbox/messages?limit=1000000000`);
      const body = (await res.json()) as { messages: { sid: string; to: string; date_created: string }[] };
      await fetch(`${url}/sandbox/messages`, { method: 'DELETE' });
      return body.messages.map((m) => ({ sid: m.sid, to: m.to, receivedAt: Date.parse(m.date_created) }));
    },
  };
}

export interface Service {
  url: string;
  adminKey: string;
  /** The callback URL the service signs against (PUBLIC_URL + the callback path). */
  callbackUrl: string;
  processes: BenchProcess[];
  /**
   * Deliveries the service still holds (due, scheduled or sending, every channel), from its own
   * `GET /api/v1/stats`; null when it does not answer 200 (busy: overload guard).
   */
  queued(): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startService(
  db: BenchDatabase,
  sandbox: Sandbox,
  opts: { cpuProf?: string | undefined },
): Promise<Service> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminKey = `lcn_adm_bench_${randomBytes(18).toString('hex')}`;
  const env = {
    ...db.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    PUBLIC_URL: url,
    ADMIN_API_KEY: adminKey,
    RATE_LIMIT_PER_MINUTE: '100000000',
    SMS_BACKEND: 'sandbox',
    SMS_SANDBOX_URL: sandbox.url,
    // Twilio alone, as the figures before routing were measured (comparable run to run).
    SMS_PROVIDERS: 'twilio',
    TWILIO_ACCOUNT_SID: sandbox.accountSid,
    TWILIO_AUTH_TOKEN: sandbox.authToken,
  };
  const nodeArgs = opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProf] : [];
  const processes: BenchProcess[] = [];
  const start = (name: string, command: string) => {
    const p = startProcess(name, [BIN, command], env, { nodeArgs });
    processes.push(p);
    return p;
  };
  try {
    if (db.engine === 'pglite') {
      await start('service (serve)', 'serve').waitFor(/listening on http/);
    } else {
      // The API migrates first; the worker starts on a current schema.
      await start('api', 'api').waitFor(/listening on http/);
      await start('worker', 'worker').waitFor(/Delivery worker \S+ running/);
    }
  } catch (err) {
    await Promise.all(processes.map((p) => p.stop(2_000)));
    throw err;
  }
  return {
    url,
    adminKey,
    callbackUrl: `${url}/api/sms/status-callback/`,
    processes,
    async queued() {
      const res = await fetch(`${url}/api/v1/stats`, { headers: { authorization: `Bearer ${adminKey}` } });
      if (!res.ok) return null;
      const body = (await res.json()) as { queue: { due: number; scheduled: number; sending: number }[] };
      return body.queue.reduce((n, q) => n + q.due + q.scheduled + q.sending, 0);
    },
    async stop() {
      // The API first (no new work), then the worker drains what it holds.
      for (const p of processes) await p.stop();
    },
  };
}
