/**
 * Running the load: one autocannon process per phase, with the live figures (the load generator's
 * answered requests, the sandbox's counters) on the progress line, and CPU/RSS samples of every
 * process taken four times a second.
 */
import { fileURLToPath } from 'node:url';
import type { Window } from './analyse.ts';
import type { LoadMessage, LoadPlan, LoadSummary } from './load-generator.ts';
import { ProcessSampler, type Sampler, startProcess } from './processes.ts';
import type { Progress } from './progress.ts';
import type { Sandbox } from './service.ts';

const LOAD_GENERATOR = fileURLToPath(new URL('./load-generator.ts', import.meta.url));

/** CPU and RSS of named processes over time, so CPU can be read for any window afterwards. */
export class Samplers {
  readonly #samplers = new Map<string, Sampler>();
  readonly #cpu = new Map<string, { at: number; cpu: number }[]>();
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#timer = setInterval(() => this.sample(), 250);
  }

  add(name: string, pidOrSampler: number | Sampler): void {
    this.#samplers.set(
      name,
      typeof pidOrSampler === 'number' ? new ProcessSampler(pidOrSampler) : pidOrSampler,
    );
    this.#cpu.set(name, []);
  }

  sample(): void {
    const at = Date.now();
    for (const [name, s] of this.#samplers) {
      s.sample();
      this.#cpu.get(name)!.push({ at, cpu: s.cpuSeconds });
    }
  }

  peakRssMb(name: string): number {
    return this.#samplers.get(name)?.peakRssMb ?? 0;
  }

  names(): string[] {
    return [...this.#samplers.keys()];
  }

  /** Cores used over the window (CPU seconds / wall seconds), from the samples nearest its ends. */
  cpuCores(name: string, w: Window): number {
    const samples = (this.#cpu.get(name) ?? []).filter((s) => s.at >= w.from && s.at <= w.to);
    if (samples.length < 2) return 0;
    const first = samples[0]!;
    const last = samples.at(-1)!;
    return (last.cpu - first.cpu) / ((last.at - first.at) / 1000);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.sample();
  }
}

export interface LoadRun {
  summary: LoadSummary;
}

/** The load generator's summary: a bulk plan's is a BulkSummary, the caller names it as `S`. */
export async function runLoad<S extends LoadSummary = LoadSummary>(
  plan: LoadPlan,
  label: string,
  progress: Progress,
  samplers: Samplers,
  sandbox: Sandbox,
): Promise<S> {
  // The plan goes over IPC: the callback phase's list of message sids outgrows a command line.
  const p = startProcess('load generator', [LOAD_GENERATOR], {}, { ipc: true });
  p.child.send(plan);
  samplers.add(`load generator (${label})`, p.child.pid!);
  progress.phase(label, plan.seconds);
  let ok = 0;
  let smsAtStart: number | undefined;
  let sms = 0;
  const live = setInterval(() => {
    void sandbox.stats().then(
      (s) => {
        smsAtStart ??= s.created;
        sms = s.created - smsAtStart;
      },
      () => {},
    );
    progress.update(`${ok.toLocaleString('en-US')} accepted, ${sms.toLocaleString('en-US')} SMS at sandbox`);
  }, 500);
  try {
    return await new Promise<S>((resolve, reject) => {
      p.child.on('message', (m: LoadMessage) => {
        if (m.type === 'progress') ok = m.ok;
        else if (m.type === 'done') resolve(m.summary as S);
        else reject(new Error(`load generator: ${m.message}`));
      });
      void p.exited().then((code) => reject(new Error(`load generator exited (${code}):\n${p.output()}`)));
    });
  } finally {
    clearInterval(live);
    progress.done();
    await p.stop(5_000);
  }
}

export interface DrainOptions {
  /** Deliveries the service still holds, every channel (due, scheduled, sending); null: not known yet. */
  queued: () => Promise<number | null>;
  timeoutMs?: number;
  /**
   * The timeout counts from the last new SMS instead, for a backlog (the bulk phase's) that takes
   * longer than the timeout to drain but is still draining.
   */
  whileMoving?: boolean;
}

/**
 * Wait until the sandbox has every SMS the phase accepted and has sent all their status callbacks,
 * and the service holds no delivery of any channel, so the next phase starts on an empty queue.
 * The service's queue is asked too because the count expected can be short: a closed-loop phase's
 * last requests, cut off when the load stopped, may have been accepted unanswered, and the in-app
 * deliveries are not seen at the sandbox. Returns false on timeout (the figures still stand; the
 * late ones simply complete outside the measured window).
 */
export async function waitForDrain(
  sandbox: Sandbox,
  expectedCreated: number,
  progress: Progress,
  { queued, timeoutMs = 180_000, whileMoving = false }: DrainOptions,
): Promise<boolean> {
  let start = Date.now();
  let seen = -1;
  progress.phase('draining the queue', Math.round(timeoutMs / 1000));
  try {
    for (;;) {
      const s = await sandbox.stats();
      progress.update(`${s.created.toLocaleString('en-US')}/${expectedCreated.toLocaleString('en-US')} SMS`);
      // The service is asked only once the sandbox has the count: its stats query is not free.
      if (s.created >= expectedCreated && s.pendingSteps === 0 && (await queued()) === 0) return true;
      if (whileMoving && s.created > seen) {
        seen = s.created;
        start = Date.now();
      }
      if (Date.now() - start > timeoutMs) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    progress.done();
  }
}
