import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Database } from '../db/database.ts';
import { DELIVERIES_CHANNEL } from '../deliveries/enqueue.ts';
import { INBOX_CHANNEL } from '../inbox/inbox-events.ts';
import type { Logger } from '../logger.ts';
import { type OverviewDeps, overviewSnapshot, overviewStats, windowQuery } from './overview-page.ts';
import type { ConsoleSessions } from './session.ts';
import { type ConsoleGuard, SESSION_COOKIE } from './session-routes.ts';

/** NOTIFYs come per queued batch; under a burst the snapshots still come at most this often. */
const MIN_WAKE_GAP_MS = 1_000;

interface Subscriber {
  /** Subscribers of one topic (a page and its filter) share each snapshot, computed once. */
  topic: string;
  /** This topic's snapshot as JSON (the first subscriber's is called for all of them). */
  snapshot(): Promise<string>;
  send(json: string): void;
  /** False once the session is over (logged out, expired, key revoked): the stream then ends. */
  signedIn(): Promise<boolean>;
  end(): void;
}

export interface LiveOptions {
  database: Database;
  intervalMs: number;
  logger: Logger;
}

/**
 * Fresh snapshots for open live pages (the overview, the activity list): every `intervalMs`, and at once when a delivery is queued
 * (the NOTIFY the worker wakes on) or an inbox item lands, so a new notification shows without
 * waiting (at most once per MIN_WAKE_GAP_MS, so a burst of sends is not a burst of stats queries).
 * A status change with no NOTIFY (an SMS receipt) shows on the next tick. Each topic is
 * computed once per refresh however many pages show it, and refreshes never overlap: a wake-up
 * during one runs one more after it.
 */
export class LiveSnapshots {
  readonly #o: LiveOptions;
  readonly #subscribers = new Set<Subscriber>();
  #unlisten: Array<() => Promise<void>> = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #lastStart = 0;
  #wakeTimer: NodeJS.Timeout | undefined;
  #trailingTimer: NodeJS.Timeout | undefined;

  constructor(o: LiveOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    for (const channel of [DELIVERIES_CHANNEL, INBOX_CHANNEL]) {
      this.#unlisten.push(
        await this.#o.database.listen(
          channel,
          () => this.#wake(),
          () => this.#wake(),
        ),
      );
    }
  }

  /** Streams end here, before the server waits for its connections to close. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#wakeTimer);
    clearTimeout(this.#trailingTimer);
    for (const s of this.#subscribers) s.end();
    this.#subscribers.clear();
    await Promise.all(this.#unlisten.map((u) => u()));
    this.#unlisten = [];
    await this.#running;
  }

  subscribe(subscriber: Subscriber): () => void {
    this.#subscribers.add(subscriber);
    this.#timer ??= setInterval(() => this.refresh(), this.#o.intervalMs).unref();
    this.refresh();
    return () => {
      this.#subscribers.delete(subscriber);
      if (this.#subscribers.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /**
   * A NOTIFY: refresh now (or once the gap since the last refresh is over), and once more a gap
   * after the last NOTIFY. That trailing one shows what the worker records just after: a send's
   * outcome is written after its inbox NOTIFY and has none of its own.
   */
  #wake(): void {
    if (this.#subscribers.size === 0) return;
    clearTimeout(this.#trailingTimer);
    this.#trailingTimer = setTimeout(() => this.refresh(), MIN_WAKE_GAP_MS).unref();
    if (this.#wakeTimer) return;
    const wait = this.#lastStart + MIN_WAKE_GAP_MS - Date.now();
    if (wait <= 0) {
      this.refresh();
      return;
    }
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      this.refresh();
    }, wait).unref();
  }

  refresh(): void {
    if (this.#subscribers.size === 0) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#lastStart = Date.now();
    this.#running = this.#pushAll()
      .catch((err) => this.#o.logger.warn({ err }, 'console live snapshot failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.refresh();
        }
      });
  }

  async #pushAll(): Promise<void> {
    const subscribers = [...this.#subscribers];
    const signedIn = await Promise.all(subscribers.map((s) => s.signedIn()));
    const live = subscribers.filter((s, i) => {
      if (signedIn[i]) return true;
      this.#subscribers.delete(s);
      s.end();
      return false;
    });
    const byTopic = new Map<string, Subscriber>();
    for (const s of live) if (!byTopic.has(s.topic)) byTopic.set(s.topic, s);
    const snapshots = new Map(
      await Promise.all([...byTopic].map(async ([topic, s]) => [topic, await s.snapshot()] as const)),
    );
    for (const s of live) if (this.#subscribers.has(s)) s.send(snapshots.get(s.topic) as string);
  }
}

export interface LiveStreamDeps {
  live: LiveSnapshots;
  sessions: ConsoleSessions;
}

/**
 * Answer a request (behind `guard.data`) with server-sent events: one `snapshot` event per refresh
 * of `topic`. The pages' scripts replace what changed (assets/live-sections.js).
 */
export function streamSnapshots(
  deps: LiveStreamDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  topic: string,
  snapshot: () => Promise<string>,
): void {
  const token = request.cookies[SESSION_COOKIE];
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.write('retry: 3000\n\n');
  const unsubscribe = deps.live.subscribe({
    topic,
    snapshot,
    send: (json) => res.write(`event: snapshot\ndata: ${json}\n\n`),
    // A page left open is not use: the stream does not keep the session from going idle.
    signedIn: async () => (await deps.sessions.find(token, { touch: false })) !== undefined,
    end: () => res.end(),
  });
  res.once('close', unsubscribe);
}

/** GET /console/live?window=…: the overview's snapshots. */
export function registerLiveStream(
  app: FastifyInstance,
  deps: LiveStreamDeps & { guard: ConsoleGuard; overview: OverviewDeps },
): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/live',
    {
      schema: { hide: true, querystring: windowQuery },
      config: { longLived: true },
      preHandler: deps.guard.data,
    },
    (request, reply) => {
      const window = request.query.window;
      streamSnapshots(deps, request, reply, `overview:${window}`, async () => {
        const stats = await overviewStats(deps.overview, window);
        return JSON.stringify(overviewSnapshot(stats, deps.overview.warningPercent));
      });
    },
  );
}
