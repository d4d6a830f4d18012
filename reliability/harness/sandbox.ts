/** The external sandbox process (Twilio's API and Vonage's): what arrived, at either. */
import { type CliProcess, runCli } from '../../test/process/cli.ts';
import { SID, TOKEN } from './settings.ts';

/** One message as the control plane lists it (both providers' unless asked for one). */
export interface SandboxMessage {
  to: string;
  body: string;
  sid: string;
  status: string;
  provider: 'twilio' | 'vonage';
  date_created: string;
}

export interface Sandbox {
  url: string;
  proc: CliProcess;
  setFaults(faults: object): Promise<void>;
  messages(): Promise<SandboxMessage[]>;
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
      (await json('GET', '/sandbox/messages?limit=1000000'))['messages'] as SandboxMessage[],
    stats: () => json('GET', '/sandbox/stats'),
    async stop() {
      proc.child.kill('SIGTERM');
      await proc.exited(10_000).catch(() => proc.kill());
    },
  };
}

/** Distinct notifications (by order number) that reached the sandbox. */
export async function arrivedCount(sandbox: Sandbox): Promise<number> {
  const seen = new Set<string>();
  for (const m of await sandbox.messages()) seen.add(m.body);
  return seen.size;
}
