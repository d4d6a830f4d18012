/**
 * Where templates render: on a few worker threads, so a template that takes its whole `render_time`
 * (one saved before the save checks, or one slow only with some context) holds one render thread,
 * never the event loop every API request and the embedded worker's sends run on. `renderTemplate` is
 * the one render API; it renders on the calling thread only when no pool runs (TEMPLATE_RENDER_THREADS=0,
 * or a CLI command that starts no app). Each thread loads render.ts, so each keeps its own parse cache.
 */
import { type MessagePort, Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../errors.ts';
import { linkRequest } from '../links/link-settings.ts';
import type { LinkRequest } from '../links/tracked-link.ts';
import { type Rendered, renderOnThisThread, TEMPLATE_LIMITS } from './render.ts';

export interface RenderJob {
  source: string;
  context: Record<string, unknown>;
  escapeHtml: boolean;
  /** What the `track` filter may do; without it the filter refuses (tracked links are for SMS). */
  links?: LinkRequest | undefined;
}

/**
 * What a thread sends back. A structured clone keeps an Error's message but not its class or its own
 * fields, so an AppError crosses as its parts and is built again here with the same code and details.
 */
export type RenderAnswer =
  | Rendered
  | { error: { code?: ErrorCode; message: string; details?: Record<string, unknown> } };

/** Renders one job and never throws: what a render thread does with each message. */
export function answerJob(job: RenderJob): RenderAnswer {
  try {
    return renderOnThisThread(job.source, job.context, { escapeHtml: job.escapeHtml, links: job.links });
  } catch (err) {
    if (err instanceof AppError) {
      return {
        error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
      };
    }
    return { error: { message: err instanceof Error ? err.message : String(err) } };
  }
}

/** A thread's first message: its modules are loaded, so a job's backstop timer no longer counts start-up. */
const READY = 'ready';

/**
 * A render thread's loop (render-thread.ts): say it is ready, then answer each message, a chunk of
 * jobs rendered one after another and answered together, in order.
 */
export function serveRenderJobs(
  port: MessagePort,
  answer: (job: RenderJob) => RenderAnswer = answerJob,
): void {
  port.on('message', (jobs: RenderJob[]) => port.postMessage(jobs.map(answer)));
  port.postMessage(READY);
}

/**
 * A backstop far above `render_time`: LiquidJS checks its limit only between nodes, so a render can
 * only run this long if one node never returns. Its thread is then terminated and replaced.
 */
export const RENDER_TIMEOUT_MS = 10 * TEMPLATE_LIMITS.render_time;
/** Renders waiting for a thread; past it a render fails at once rather than wait behind thousands. */
export const RENDER_QUEUE_LIMIT = 1_000;
/**
 * The most waiting renders a free thread takes in one message. One message per render cost a thread
 * wake-up and a clone each: on a loaded 2-core machine a batch's 2,000 in-app renders took 2.6–16 s
 * while the worker's SMS renders shared the queue, against 0.2 s idle. Small enough that a render at
 * its render_time limit holds few others behind it.
 */
export const RENDER_CHUNK = 32;

const THREAD_SCRIPT = new URL('./render-thread.ts', import.meta.url);

export interface RenderPoolOptions {
  threads: number;
  timeoutMs?: number;
  queueLimit?: number;
  /** The thread's entry module (render-thread.ts); a test gives one that can be made to hang. */
  script?: URL;
}

interface Pending {
  job: RenderJob;
  resolve: (rendered: Rendered) => void;
  reject: (err: Error) => void;
  /** Sent in a message of its own: its chunk could not be cloned. */
  alone?: boolean;
}

interface Thread {
  worker: Worker;
  /** Jobs go only to a thread that has loaded its modules (its first message). */
  ready: boolean;
  /** The chunk it renders, with its backstop timer; a thread takes the next only when it answers. */
  current: { chunk: Pending[]; timer: NodeJS.Timeout } | undefined;
  /** Why it died, when it threw outside a render (reported on its exit). */
  failure: Error | undefined;
}

export class RenderPool {
  readonly #timeoutMs: number;
  readonly #queueLimit: number;
  readonly #script: URL;
  readonly #threads: Thread[] = [];
  readonly #queue: Pending[] = [];
  #closed = false;
  /** Set when a thread died before it was ready: its module does not load, so no new one would. */
  #broken: Error | undefined;
  readonly #started: Promise<void>;
  #ready = 0;
  #onStarted: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(opts: RenderPoolOptions) {
    this.#timeoutMs = opts.timeoutMs ?? RENDER_TIMEOUT_MS;
    this.#queueLimit = opts.queueLimit ?? RENDER_QUEUE_LIMIT;
    this.#script = opts.script ?? THREAD_SCRIPT;
    this.#started = new Promise((resolve, reject) => {
      this.#onStarted = { resolve, reject };
    });
    // Awaited by startRenderPool; a pool used without awaiting it must not leave this unhandled.
    this.#started.catch(() => {});
    for (let i = 0; i < opts.threads; i++) this.#threads.push(this.#spawn());
  }

  /** Resolves when every thread has loaded its modules; rejects when one cannot. */
  started(): Promise<void> {
    return this.#started;
  }

  render(job: RenderJob): Promise<Rendered> {
    if (this.#closed) return Promise.reject(new AppError('NOT_READY', 'The template render pool is closed'));
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise<Rendered>((resolve, reject) => {
      const pending = { job, resolve, reject };
      const idle = this.#threads.find((t) => t.ready && !t.current);
      if (idle) return this.#run(idle, [pending]);
      if (this.#queue.length >= this.#queueLimit) {
        return reject(
          new AppError(
            'SERVICE_OVERLOADED',
            `Template render queue is full (${this.#queueLimit} renders waiting for a thread)`,
            { queue_limit: this.#queueLimit },
          ),
        );
      }
      this.#queue.push(pending);
    });
  }

  /** Stops every thread; renders still waiting or running fail with NOT_READY. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new AppError('NOT_READY', 'The template render pool is closed');
    for (const pending of this.#queue.splice(0)) pending.reject(closed);
    const threads = this.#threads.splice(0);
    for (const t of threads) for (const p of this.#settle(t)) p.reject(closed);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  #spawn(): Thread {
    const thread: Thread = {
      worker: new Worker(this.#script),
      ready: false,
      current: undefined,
      failure: undefined,
    };
    thread.worker.on('message', (answers: RenderAnswer[] | typeof READY) => {
      if (answers === READY) {
        thread.ready = true;
        if (++this.#ready === this.#threads.length) this.#onStarted?.resolve();
        return this.#next(thread);
      }
      const chunk = this.#settle(thread);
      chunk.forEach((pending, i) => {
        const answer = answers[i]!;
        if ('output' in answer) pending.resolve(answer);
        else pending.reject(toError(answer.error));
      });
      this.#next(thread);
    });
    thread.worker.on('error', (err) => {
      thread.failure = err;
    });
    thread.worker.on('exit', () => {
      // A thread the pool terminated (backstop, close) is already out of #threads.
      if (!this.#threads.includes(thread)) return;
      const failure = thread.failure ?? new Error('A template render thread exited');
      if (!thread.ready) return this.#fail(thread, failure);
      for (const pending of this.#settle(thread)) pending.reject(failure);
      this.#replace(thread);
    });
    return thread;
  }

  /** A thread that could not start: replacing it would only fail again, so every render fails. */
  #fail(thread: Thread, failure: Error): void {
    this.#broken = new Error(`Template render threads cannot start: ${failure.message}`, { cause: failure });
    this.#threads.splice(this.#threads.indexOf(thread), 1);
    for (const pending of this.#queue.splice(0)) pending.reject(this.#broken);
    this.#onStarted?.reject(this.#broken);
  }

  #run(thread: Thread, chunk: Pending[]): void {
    // Each job of the chunk may take its whole render_time, one after another.
    const timer = setTimeout(() => this.#timedOut(thread), this.#timeoutMs * chunk.length);
    thread.current = { chunk, timer };
    try {
      thread.worker.postMessage(chunk.map((p) => p.job));
    } catch (err) {
      // A context that cannot be cloned (a function in it) fails the whole message: each job is
      // sent alone again, so only that render fails and the thread stays free.
      this.#settle(thread);
      if (chunk.length === 1) chunk[0]!.reject(err as Error);
      else this.#queue.unshift(...chunk.map((p) => ({ ...p, alone: true })));
      this.#next(thread);
    }
  }

  #timedOut(thread: Thread): void {
    const late = new AppError(
      'TEMPLATE_LIMIT_EXCEEDED',
      `Template render did not finish within ${this.#timeoutMs} ms; its render thread was replaced`,
      { limit: 'render_time', max: TEMPLATE_LIMITS.render_time },
    );
    for (const pending of this.#settle(thread)) pending.reject(late);
    void thread.worker.terminate();
    this.#replace(thread);
  }

  #replace(thread: Thread): void {
    const at = this.#threads.indexOf(thread);
    if (at === -1 || this.#closed) return;
    // The queue moves on once the new thread says it is ready.
    this.#threads[at] = this.#spawn();
  }

  /** Frees a thread of its current chunk (clearing the backstop) and returns that chunk. */
  #settle(thread: Thread): Pending[] {
    const current = thread.current;
    if (!current) return [];
    clearTimeout(current.timer);
    thread.current = undefined;
    return current.chunk;
  }

  /** The next chunk: the waiting renders in order, up to RENDER_CHUNK, a retried one alone. */
  #next(thread: Thread): void {
    if (this.#queue.length === 0) return;
    const end = this.#queue[0]!.alone ? 1 : this.#queue.findIndex((p, i) => i >= RENDER_CHUNK || p.alone);
    this.#run(thread, this.#queue.splice(0, end === -1 ? this.#queue.length : end));
  }
}

function toError(error: Extract<RenderAnswer, { error: unknown }>['error']): Error {
  return error.code ? new AppError(error.code, error.message, error.details) : new Error(error.message);
}

/** The pools the running apps started; renders go to the newest one still open. */
const open: RenderPool[] = [];

/**
 * Starts the pool of the composition root once its threads are ready (a thread that cannot load
 * fails the start, not every render later) and returns its stop. With 0 threads it starts none and
 * renders stay on the calling thread (a slow template then blocks it for up to `render_time`).
 */
export async function startRenderPool(threads: number): Promise<() => Promise<void>> {
  if (threads === 0) return async () => {};
  const pool = new RenderPool({ threads });
  try {
    await pool.started();
  } catch (err) {
    await pool.close();
    throw err;
  }
  open.push(pool);
  return async () => {
    const at = open.indexOf(pool);
    if (at !== -1) open.splice(at, 1);
    await pool.close();
  };
}

/**
 * Renders one template field off the event loop (see renderOnThisThread for the errors it throws:
 * the same codes and details whichever thread rendered). Fails with SERVICE_OVERLOADED when the
 * render queue is full, TEMPLATE_LIMIT_EXCEEDED when a render outlives the backstop.
 */
export async function renderTemplate(
  source: string,
  context: Record<string, unknown>,
  opts?: { escapeHtml?: boolean },
): Promise<string> {
  return (await renderJob({ source, context, escapeHtml: opts?.escapeHtml ?? false })).output;
}

/**
 * An SMS render whose `track` filter makes links (see LinkRequest): the text and the links in it,
 * which a send must store before the text goes out (links/link-store.ts).
 */
export function renderWithLinks(
  source: string,
  context: Record<string, unknown>,
  links: LinkRequest,
): Promise<Rendered> {
  return renderJob({ source, context, escapeHtml: false, links });
}

/**
 * An SMS text as a template preview, the lint or a test send shows it: tracked links in the form
 * and length a send gives them, stored nowhere (so they lead nowhere).
 */
export async function renderSmsPreview(source: string, context: Record<string, unknown>): Promise<string> {
  return (await renderWithLinks(source, context, linkRequest())).output;
}

async function renderJob(job: RenderJob): Promise<Rendered> {
  const pool = open.at(-1);
  if (!pool) return renderOnThisThread(job.source, job.context, job);
  return pool.render(job);
}

/**
 * Whether a render or compose error is the message's own (a template or its context: a preview
 * shows it on the field) rather than the service's state at that moment (a 5xx: render queue full,
 * pool closing), which is thrown on.
 */
export function isMessageFault(err: unknown): err is AppError {
  return err instanceof AppError && err.status < 500;
}

/**
 * Whether a render error at SEND fails the delivery for good: a message fault, except running out
 * of render time. That limit is wall-clock (LiquidJS's renderLimit), so a loaded machine can stall a
 * render the save-time check passed; the channel throws it and the attempt is retried (bounded by
 * its budget). The other limits (size, memory, output) do not depend on the machine.
 */
export function failsDelivery(err: unknown): err is AppError {
  return (
    isMessageFault(err) &&
    !(err.code === 'TEMPLATE_LIMIT_EXCEEDED' && err.details?.['limit'] === 'render_time')
  );
}
