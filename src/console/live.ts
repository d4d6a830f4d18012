import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Database } from '../db/database.ts';
import { DELIVERIES_CHANNEL } from '../deliveries/enqueue.ts';
import { INBOX_CHANNEL } from '../inbox/inbox-events.ts';
import type { Logger } from '../logger.ts';
import type { NamedWindow } from '../stats/stats-window.ts';
import { type OverviewDeps, overviewSnapshot, overviewStats, windowQuery } from './overview-page.ts';
import type { ConsoleSessions } from './session.ts';
import { type ConsoleGuard, SESSION_COOKIE } from './session-routes.ts';

/** NOTIFYs come per queued batch; under a burst the snapshots still come at most this often. */
const MIN_WAKE_GAP_MS = 1_000;

interface Subscriber {
  window: NamedWindow;
  send(json: string): void;
  /** False once the session is over (logged out, expired, key revoked): the stream then ends. */
  signedIn(): Promise<boolean>;
  end(): void;
}

export interface LiveOptions {
  database: Database;
  overview: OverviewDeps;
  intervalMs: number;
  logger: Logger;
}

/**
 * Fresh overview snapshots for open pages: every `intervalMs`, and at once when a delivery is queued
 * (the NOTIFY the worker wakes on) or an inbox item lands, so a new notification shows without
 * waiting (at most once per MIN_WAKE_GAP_MS, so a burst of sends is not a burst of stats queries).
 * A status change with no NOTIFY (an SMS receipt) shows on the next tick. Each window is
 * computed once per refresh however many pages show it, and refreshes never overlap: a wake-up
 * during one runs one more after it.
 */
export class LiveOverview {
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
    const windows = [...new Set(live.map((s) => s.window))];
    const snapshots = await Promise.all(
      windows.map(async (w) => {
        const stats = await overviewStats(this.#o.overview, w);
        return [w, JSON.stringify(overviewSnapshot(stats, this.#o.overview.warningPercent))] as const;
      }),
    );
    const byWindow = new Map(snapshots);
    for (const s of live) if (this.#subscribers.has(s)) s.send(byWindow.get(s.window) as string);
  }
}

/** GET /console/live?window=…: server-sent events, one `snapshot` event per refresh. */
export function registerLiveStream(
  app: FastifyInstance,
  deps: { live: LiveOverview; sessions: ConsoleSessions; guard: ConsoleGuard },
): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/live',
    {
      schema: { hide: true, querystring: windowQuery },
      config: { longLived: true },
      preHandler: deps.guard.data,
    },
    (request, reply) => {
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
        window: request.query.window,
        send: (json) => res.write(`event: snapshot\ndata: ${json}\n\n`),
        // A page left open is not use: the stream does not keep the session from going idle.
        signedIn: async () => (await deps.sessions.find(token, { touch: false })) !== undefined,
        end: () => res.end(),
      });
      res.once('close', unsubscribe);
    },
  );
}
