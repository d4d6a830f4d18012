/**
 * What GET /metrics answers (Prometheus text, prom-client; every metric is listed in docs/metrics.md).
 * One registry per running app, never prom-client's global one, so two apps in one process (tests)
 * keep their own figures. Two kinds of figure:
 * - observed in this process (send latency, provider errors, status-report lag, HTTP durations):
 *   counters and histograms fed by the worker, the status writers and the HTTP server;
 * - read from the database at scrape time (queue depth, deliveries by channel × status × provider):
 *   the same for every process of a cluster, so a dashboard takes one process's value, not a sum.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryJob, SendResult } from '../channels/channel.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { SendObserver } from '../deliveries/worker.ts';
import type { Logger } from '../logger.ts';
import { queueDepth } from '../stats/delivery-stats.ts';
import { deliveryTotals } from '../stats/delivery-totals.ts';
import { outboxDepth } from '../webhooks/outbox-figures.ts';

export interface MetricsDeps {
  database: Database;
  clock: Clock;
  logger: Pick<Logger, 'warn'>;
}

/** Label for "no provider": a channel without one, or an SMS no provider was asked for. */
const NONE = 'none';

/** The status reporters as `recordSmsStatus` names them, as label values. */
const REPORT_SOURCES: Record<string, string> = {
  'status callback': 'twilio_callback',
  'Vonage receipt': 'vonage_receipt',
};

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #deps: MetricsDeps;
  readonly #sendSeconds: Histogram<'channel' | 'provider' | 'outcome'>;
  readonly #triggerSeconds: Histogram<'channel' | 'provider'>;
  readonly #providerErrors: Counter<'channel' | 'provider' | 'code'>;
  readonly #statusLag: Histogram<'source'>;
  readonly #httpSeconds: Histogram<'method' | 'route' | 'status_code'>;
  readonly #queue: Gauge<'channel' | 'state'>;
  readonly #oldestDue: Gauge<'channel'>;
  readonly #deliveries: Gauge<'channel' | 'status' | 'provider'>;
  readonly #pool: Gauge<'state'>;
  readonly #scrapeErrors: Counter<'part'>;
  readonly #outbox: Gauge<'state'>;
  readonly #outboxOldestDue: Gauge;
  readonly #webhookAttempts: Counter<'outcome'>;

  constructor(deps: MetricsDeps) {
    this.#deps = deps;
    const registers = [this.registry];
    // Event-loop lag, heap, GC, CPU, handles: prom-client's standard process figures.
    collectDefaultMetrics({ register: this.registry });
    this.#sendSeconds = new Histogram({
      name: 'notify_send_duration_seconds',
      help: "One delivery attempt's time in its channel: the provider call for SMS, email and push",
      labelNames: ['channel', 'provider', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#triggerSeconds = new Histogram({
      name: 'notify_trigger_to_provider_seconds',
      help: 'From the delivery created (its trigger) to the provider accepting it; held deliveries included',
      labelNames: ['channel', 'provider'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600, 86_400],
      registers,
    });
    this.#providerErrors = new Counter({
      name: 'notify_provider_errors_total',
      help: 'Delivery attempts that failed, by error code (docs/errors.md#delivery-errors)',
      labelNames: ['channel', 'provider', 'code'],
      registers,
    });
    this.#statusLag = new Histogram({
      name: 'notify_status_report_lag_seconds',
      help: "From a provider's status report (its time, or the callback's arrival) to it being stored",
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#httpSeconds = new Histogram({
      name: 'notify_http_request_duration_seconds',
      help: 'HTTP requests by route pattern (never the raw URL); unmatched paths are one route',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#queue = new Gauge({
      name: 'notify_queue_deliveries',
      help: 'Queued deliveries now: due (waiting for a worker), scheduled (later), sending',
      labelNames: ['channel', 'state'],
      registers,
    });
    this.#oldestDue = new Gauge({
      name: 'notify_queue_oldest_due_age_seconds',
      help: 'How long the oldest due delivery has waited past its due time (0 with none due)',
      labelNames: ['channel'],
      registers,
    });
    this.#deliveries = new Gauge({
      name: 'notify_deliveries',
      help: 'Every delivery in the database by channel, status and provider (the rollup and the recent rows)',
      labelNames: ['channel', 'status', 'provider'],
      registers,
    });
    this.#pool = new Gauge({
      name: 'notify_db_pool_connections',
      help: 'PostgreSQL pool: total, idle, waiting (callers waiting for a connection) and max; absent on PGlite',
      labelNames: ['state'],
      registers,
    });
    this.#outbox = new Gauge({
      name: 'notify_webhook_outbox_messages',
      help: 'Webhook messages still to send: pending (never tried) and failed (a retry due later)',
      labelNames: ['state'],
      registers,
    });
    this.#outboxOldestDue = new Gauge({
      name: 'notify_webhook_oldest_due_age_seconds',
      help: 'How long the oldest due webhook message has waited past its due time (0 with none due)',
      registers,
    });
    this.#webhookAttempts = new Counter({
      name: 'notify_webhook_attempts_total',
      help: "Webhook sends by outcome: delivered (2xx), failed (a retry follows), dead (the schedule's end)",
      labelNames: ['outcome'],
      registers,
    });
    this.#scrapeErrors = new Counter({
      name: 'notify_metrics_collect_errors_total',
      help: 'Scrapes whose database part failed (its gauges are then left out, not stale)',
      labelNames: ['part'],
      registers,
    });
  }

  /** The worker's observer: each attempt's time, its trigger-to-provider time, its error code. */
  readonly sends: SendObserver = {
    attempted: (job: DeliveryJob, result: SendResult, durationMs: number) => {
      const provider = providerOf(result);
      this.#sendSeconds.observe({ channel: job.channel, provider, outcome: result.kind }, durationMs / 1000);
      if (result.kind === 'sent') {
        const sinceTrigger = (this.#deps.clock.now() - job.createdAt.getTime()) / 1000;
        this.#triggerSeconds.observe({ channel: job.channel, provider }, Math.max(0, sinceTrigger));
      } else if (result.kind === 'retryable' || result.kind === 'permanent') {
        this.#providerErrors.inc({ channel: job.channel, provider, code: result.code });
      }
    },
  };

  /** recordSmsStatus's `onStored`: a status report's lag. */
  readonly statusStored = (via: string, lagMs: number): void => {
    this.#statusLag.observe({ source: REPORT_SOURCES[via] ?? 'other' }, Math.max(0, lagMs) / 1000);
  };

  /** One HTTP answer; `route` is the matched pattern, undefined for a path no route matched. */
  httpAnswered(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    this.#httpSeconds.observe(
      { method, route: route ?? 'unmatched', status_code: String(statusCode) },
      seconds,
    );
  }

  /** The webhook sender's observer: one attempt's outcome. */
  readonly webhookAttempt = (outcome: 'delivered' | 'failed' | 'dead'): void => {
    this.#webhookAttempts.inc({ outcome });
  };

  /** The Prometheus text: the database figures read now, then every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    await Promise.all([
      this.#part('queue', () => this.#readQueue()),
      this.#part('deliveries', () => this.#readDeliveries()),
      this.#part('webhooks', () => this.#readOutbox()),
    ]);
    this.#readPool();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  async #part(part: string, read: () => Promise<void>): Promise<void> {
    try {
      await read();
    } catch (err) {
      this.#scrapeErrors.inc({ part });
      this.#deps.logger.warn({ err, part }, 'metrics: a database figure could not be read');
    }
  }

  async #readQueue(): Promise<void> {
    const now = new Date(this.#deps.clock.now());
    const rows = await queueDepth(this.#deps.database.db, now).finally(() => {
      this.#queue.reset();
      this.#oldestDue.reset();
    });
    for (const r of rows) {
      for (const state of ['due', 'scheduled', 'sending'] as const)
        this.#queue.set({ channel: r.channel, state }, r[state]);
      this.#oldestDue.set({ channel: r.channel }, (r.oldest_due_age_ms ?? 0) / 1000);
    }
  }

  async #readDeliveries(): Promise<void> {
    const rows = await deliveryTotals(this.#deps.database.db).finally(() => this.#deliveries.reset());
    for (const r of rows)
      this.#deliveries.set({ channel: r.channel, status: r.status, provider: r.provider ?? NONE }, r.count);
  }

  async #readOutbox(): Promise<void> {
    const rows = await outboxDepth(this.#deps.database.db, new Date(this.#deps.clock.now())).finally(() => {
      this.#outbox.reset();
      this.#outboxOldestDue.reset();
    });
    for (const state of ['pending', 'failed'] as const)
      this.#outbox.set({ state }, rows.find((r) => r.state === state)?.messages ?? 0);
    this.#outboxOldestDue.set(Math.max(0, ...rows.map((r) => r.oldestDueAgeMs ?? 0)) / 1000);
  }

  #readPool(): void {
    const stats = this.#deps.database.poolStats?.();
    if (!stats) return;
    this.#pool.set({ state: 'total' }, stats.total);
    this.#pool.set({ state: 'idle' }, stats.idle);
    this.#pool.set({ state: 'waiting' }, stats.waiting);
    this.#pool.set({ state: 'max' }, stats.max);
  }
}

/** The provider an attempt went to, as the SMS route records it (`details.route.provider`). */
function providerOf(result: SendResult): string {
  const route = result.details?.route as { provider?: unknown } | undefined;
  return typeof route?.provider === 'string' ? route.provider : NONE;
}
