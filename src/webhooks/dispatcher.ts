import type { Clock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { signingSecrets } from './endpoint-store.ts';
import { webhookBody } from './event-body.ts';
import { type AttemptRecord, type ClaimedMessage, claimDueMessages, recordAttempt } from './outbox-store.ts';
import { nextAttemptDelay, parseRetryAfter } from './retry-schedule.ts';
import { sendWebhook, type WebhookResponse } from './send-webhook.ts';

export interface DispatcherOptions {
  db: Db;
  logger: Logger;
  /** Due times, leases, retries and the rotation overlap. */
  clock: Clock;
  /** The `webhook-timestamp` is wall-clock time: the receiver checks it against its own clock. */
  wallNow?: () => number;
  /** Uniform in [0, 1): the retry jitter (a test injects a fixed or seeded source). */
  random?: () => number;
  maxInFlightPerEndpoint: number;
  timeoutMs: number;
  pollMs: number;
  allowPrivateTargets: boolean;
  batchSize?: number;
  /** Told each recorded attempt's outcome (GET /metrics counts them). */
  onAttempt?: (outcome: 'delivered' | 'failed' | 'dead') => void;
  /**
   * Subscribes to WEBHOOKS_CHANNEL (Database.listen): new outbox rows wake the sender at once;
   * without it only the poll finds them.
   */
  listen?: (channel: string, onWake: () => void) => Promise<() => Promise<void>>;
}

/** NOTIFY channel of new outbox rows (lc_webhook_emit, migration 0028). */
export const WEBHOOKS_CHANNEL = 'lc_webhooks';

/**
 * The worker's webhook sender: claims due outbox rows (outbox-store.ts), POSTs each signed
 * (send-webhook.ts) and records the attempt. A pass does not wait for its sends: a slow endpoint
 * holds only its own slots, and each finished send asks for the next pass at once. Delivery is at
 * least once (a worker that dies mid-send leaves a lease that expires), so receivers dedupe on
 * `webhook-id`.
 */
export class WebhookDispatcher {
  readonly #o: Required<DispatcherOptions>;
  readonly #inFlight = new Set<Promise<void>>();
  #cancelTimer: (() => void) | undefined;
  #passing: Promise<ClaimedMessage[]> | undefined;
  #again = false;
  #running = false;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(options: DispatcherOptions) {
    this.#o = {
      wallNow: Date.now,
      random: Math.random,
      batchSize: 100,
      onAttempt: () => {},
      listen: async () => async () => {},
      ...options,
    };
  }

  /** The lease outlives the send's timeout, so a live send is never claimed twice. */
  get #leaseMs(): number {
    return this.#o.timeoutMs + 30_000;
  }

  async start(): Promise<void> {
    this.#running = true;
    this.#unlisten = await this.#o.listen(WEBHOOKS_CHANNEL, () => this.#kick());
    this.#kick();
  }

  /** Stop claiming; wait for the sends under way to record their attempt. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#unlisten?.();
    this.#cancelTimer?.();
    await this.#passing?.catch(() => undefined);
    await Promise.allSettled([...this.#inFlight]);
  }

  /** One pass, and every send it started, done: what a test steps instead of waiting on a poll. */
  async runOnce(): Promise<number> {
    const claimed = await this.#pass();
    await Promise.allSettled([...this.#inFlight]);
    return claimed.length;
  }

  #kick(): void {
    if (!this.#running) return;
    if (this.#passing) {
      this.#again = true;
      return;
    }
    this.#cancelTimer?.();
    this.#pass()
      .catch((err) => this.#o.logger.warn({ err }, 'webhook claim failed; trying again at the next poll'))
      .finally(() => {
        if (!this.#running) return;
        if (this.#again) {
          this.#again = false;
          setImmediate(() => this.#kick());
        } else {
          this.#cancelTimer = this.#o.clock.setTimeout(() => this.#kick(), this.#o.pollMs);
        }
      });
  }

  #pass(): Promise<ClaimedMessage[]> {
    this.#passing = claimDueMessages(this.#o.db, {
      maxInFlightPerEndpoint: this.#o.maxInFlightPerEndpoint,
      batchSize: this.#o.batchSize,
      leaseMs: this.#leaseMs,
      now: this.#o.clock.sqlNow(),
    }).then((claimed) => {
      for (const m of claimed) this.#track(this.#deliver(m));
      if (claimed.length === this.#o.batchSize) this.#again = true;
      return claimed;
    });
    return this.#passing.finally(() => {
      this.#passing = undefined;
    });
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => {
      this.#inFlight.delete(p);
      // A slot is free: its endpoint may have more due.
      this.#kick();
    });
  }

  async #deliver(m: ClaimedMessage): Promise<void> {
    try {
      const res = await sendWebhook({
        url: m.endpoint.url,
        messageId: m.messageId,
        body: webhookBody(m.eventType, m.createdAt, m.payload),
        secrets: signingSecrets(m.endpoint, this.#o.clock.now()),
        signedAt: new Date(this.#o.wallNow()),
        timeoutMs: this.#o.timeoutMs,
        allowPrivate: this.#o.allowPrivateTargets,
      });
      const record = this.#judge(m, res);
      await recordAttempt(this.#o.db, m, record, this.#o.clock.sqlNow());
      this.#o.onAttempt(record.outcome.state);
      if (record.outcome.state !== 'delivered') {
        this.#o.logger.info(
          {
            messageId: m.messageId,
            endpointId: m.endpoint.id,
            status: res.status,
            error: res.error,
            outcome: record.outcome,
          },
          'webhook attempt failed',
        );
      }
      if (record.disableEndpoint)
        this.#o.logger.warn({ endpointId: m.endpoint.id }, 'webhook endpoint disabled: it answered 410 Gone');
    } catch (err) {
      // The attempt could not be recorded: its lease expires and the message is sent again.
      this.#o.logger.warn({ err, messageId: m.messageId }, 'recording a webhook attempt failed');
    }
  }

  #judge(m: ClaimedMessage, res: WebhookResponse): AttemptRecord {
    const base = { statusCode: res.status, error: res.error, latencyMs: res.latencyMs, excerpt: res.excerpt };
    if (res.status !== null && res.status >= 200 && res.status < 300)
      return { ...base, outcome: { state: 'delivered' } };
    const retryAfter = parseRetryAfter(res.retryAfter, this.#o.wallNow());
    const delay = nextAttemptDelay(m.attempts + 1, this.#o.random, retryAfter);
    const outcome: AttemptRecord['outcome'] =
      delay === null ? { state: 'dead' } : { state: 'failed', retryInMs: delay };
    if (res.status === 410) {
      const at = new Date(this.#o.clock.now()).toISOString();
      return { ...base, outcome, disableEndpoint: `410 Gone from ${m.endpoint.url} at ${at}` };
    }
    return { ...base, outcome };
  }
}
