import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { ChannelName } from '../catalog/catalog.ts';
import type { Channel, DeliveryJob, SendResult } from '../channels/channel.ts';
import { type Clock, systemClock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { contextOfTraceParent } from '../trace-context.ts';
import { attemptDelivery } from './attempt.ts';
import { type ClaimWant, claimDue } from './claim.ts';
import { DELIVERIES_CHANNEL } from './enqueue.ts';
import { attemptEscalated, type EscalationCheckDeps } from './escalation-check.ts';
import { toCompletion } from './outcome.ts';
import { OutcomeWriter } from './outcome-writer.ts';
import { reapExpiredLeases } from './reap.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { readTraceParents } from './trace-parents.ts';

/**
 * Claim passes, and outcome writes, start at least this far apart: under load the wake-ups of many
 * notifications share one claim and their outcomes one write, instead of a round trip each; when
 * idle the gap is long over and a wake-up claims at once.
 */
const PASS_GAP_MS = 5;

export interface WorkerOptions {
  database: Database;
  channels: readonly Channel[];
  concurrency: Record<ChannelName, number>;
  timeoutsMs: Record<ChannelName, number>;
  retryPolicies: Record<ChannelName, RetryPolicy>;
  batchSize: number;
  pollMs: number;
  leaseMs: number;
  shutdownGraceMs: number;
  logger: Logger;
  workerId?: string | undefined;
  /** Poll timing, retry due times, lease expiry and the claim's "due" (default: the system clock). */
  clock?: Clock;
  /** Told of every attempt's end (GET /metrics' send figures); nothing by default. */
  observer?: SendObserver;
  /** Tracing on: each attempt is a span continuing its delivery's stored traceparent. */
  tracer?: Tracer;
}

export interface SendObserver {
  /** `durationMs`: the channel's own time on the attempt (the provider call, for SMS). */
  attempted(job: DeliveryJob, result: SendResult, durationMs: number): void;
}

/**
 * Claims due deliveries, hands each to its channel and writes the outcomes back in batches.
 * Woken by NOTIFY when work arrives (the payload names the channels) and by a poll as a fallback
 * (retries that fall due, a missed notification, a database that came back). A pass claims only
 * the channels that may have due work, all in one statement. Stop drains: no new claims, in-flight
 * sends finish.
 */
export class DeliveryWorker {
  readonly id: string;
  readonly #o: WorkerOptions;
  readonly #channels: Map<ChannelName, Channel>;
  /** Lookup-only attempts each channel allows after its budget (what the lease reaper needs). */
  readonly #lookups: Partial<Record<ChannelName, number>>;
  readonly #inFlight = new Map<ChannelName, number>();
  readonly #controllers = new Set<AbortController>();
  /** Outcomes on their way to the database: a delivery stays in flight until its outcome is written. */
  readonly #outcomes: OutcomeWriter;
  /**
   * Channels that may have due work: named by a NOTIFY, all of them on a poll, or left with a
   * backlog by a full claim. Cleared before a claim, so a NOTIFY that races the claim is kept.
   */
  readonly #maybeDue = new Set<ChannelName>();
  #ticking = false;
  /** The claim pass under way (resolved when none is): stop() waits for it. */
  #pass: Promise<void> = Promise.resolve();
  #tickAgain = false;
  #stopping = false;
  readonly #clock: Clock;
  #cancelPoll: (() => void) | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #lastReap = 0;
  #lastPass = Number.NEGATIVE_INFINITY;
  #passTimer: NodeJS.Timeout | undefined;
  #idle: (() => void) | undefined;
  /** What the send-time check of an escalated delivery reads with (escalation-check.ts). */
  readonly #escalation: EscalationCheckDeps;

  constructor(options: WorkerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.id = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.#channels = new Map(options.channels.map((c) => [c.name, c]));
    this.#escalation = { db: options.database.db, clock: this.#clock, logger: options.logger };
    for (const c of options.channels) {
      if (options.retryPolicies[c.name].maxLookups > 0 && !c.lookup)
        throw new Error(`The ${c.name} policy allows lookups but the channel cannot look up`);
    }
    this.#lookups = Object.fromEntries(
      options.channels.map((c) => [c.name, options.retryPolicies[c.name].maxLookups]),
    );
    for (const name of this.#channels.keys()) this.#inFlight.set(name, 0);
    this.#outcomes = new OutcomeWriter({
      database: options.database,
      workerId: this.id,
      logger: options.logger,
      gapMs: PASS_GAP_MS,
      onWritten: (channels) => {
        // Only now are these slots free: counting a delivery as done before its outcome is stored
        // let claims outrun the writes until leases expired under the worker's own feet.
        for (const c of channels) this.#inFlight.set(c, (this.#inFlight.get(c) ?? 1) - 1);
        if (this.#stopping && this.inFlight === 0) this.#idle?.();
        else this.#schedule();
      },
    });
  }

  async start(): Promise<void> {
    this.#unlisten = await this.#o.database.listen(
      DELIVERIES_CHANNEL,
      (payload) => this.wake(parseChannels(payload)),
      () => this.wake(),
    );
    this.#poll();
    this.wake();
  }

  /** The fallback poll, on the worker's clock: a test steps it past a retry's due time to wake it. */
  #poll(): void {
    this.#cancelPoll = this.#clock.setTimeout(() => {
      if (this.#stopping) return;
      this.#poll();
      this.wake();
    }, this.#o.pollMs);
  }

  /** Ask for a claim pass over `channels` (all by default); calls during a pass coalesce. */
  wake(channels: Iterable<ChannelName> = this.#channels.keys()): void {
    for (const c of channels) if (this.#channels.has(c)) this.#maybeDue.add(c);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopping) return;
    if (this.#ticking) {
      this.#tickAgain = true;
      return;
    }
    if (this.#passTimer) return;
    const wait = this.#lastPass + PASS_GAP_MS - performance.now();
    if (wait > 0) {
      this.#passTimer = setTimeout(() => {
        this.#passTimer = undefined;
        this.#schedule();
      }, wait);
      return;
    }
    this.#ticking = true;
    this.#lastPass = performance.now();
    this.#pass = this.#tick().finally(() => {
      this.#ticking = false;
      if (this.#tickAgain) {
        this.#tickAgain = false;
        this.#schedule();
      }
    });
  }

  get inFlight(): number {
    let n = 0;
    for (const v of this.#inFlight.values()) n += v;
    return n;
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#cancelPoll?.();
    clearTimeout(this.#passTimer);
    await this.#unlisten?.().catch(() => {});
    // A claim sent before stop() was called still returns jobs, which start sending: wait for
    // them like the rest, or their outcomes would be written after the caller closed the database.
    await this.#pass;
    if (this.inFlight > 0) {
      const drained = new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
      const grace = setTimeout(() => {
        this.#o.logger.warn(
          { inFlight: this.inFlight },
          'shutdown grace period over; aborting in-flight sends',
        );
        for (const c of this.#controllers) c.abort(new Error('worker shutting down'));
      }, this.#o.shutdownGraceMs);
      // A send that ignores the abort must not hold the process forever: its lease expires and
      // another worker reconciles it (outcome unknown), so nothing is lost by giving up here.
      const giveUp = new Promise<void>((resolve) =>
        setTimeout(resolve, this.#o.shutdownGraceMs + 5_000).unref(),
      );
      await Promise.race([drained, giveUp]);
      clearTimeout(grace);
      if (this.inFlight > 0) {
        this.#o.logger.error(
          { inFlight: this.inFlight },
          'stopped with sends still in flight; their leases will expire',
        );
      }
    }
    await this.#outcomes.drain(this.#o.shutdownGraceMs);
  }

  async #tick(): Promise<void> {
    const db = this.#o.database.db;
    let wants: ClaimWant[] = [];
    try {
      const now = this.#clock.now();
      if (now - this.#lastReap >= Math.max(this.#o.pollMs, 1000)) {
        this.#lastReap = now;
        const reaped = await reapExpiredLeases(db, this.#lookups, this.#clock.sqlNow());
        if (reaped > 0) {
          this.#o.logger.warn({ reaped }, 'requeued deliveries whose lease expired');
          for (const c of this.#channels.keys()) this.#maybeDue.add(c);
        }
      }
      wants = this.#wants();
      if (wants.length === 0 || this.#stopping) return;
      const jobs = await claimDue(db, wants, this.id, this.#o.leaseMs, this.#clock.sqlNow());
      // Only with tracing on; a failed read costs the traces their link, never the sends.
      const parents = this.#o.tracer
        ? await readTraceParents(
            db,
            jobs.map((j) => j.deliveryId),
          ).catch(() => new Map<string, string>())
        : undefined;
      const claimed = new Map<ChannelName, number>();
      for (const job of jobs) {
        claimed.set(job.channel, (claimed.get(job.channel) ?? 0) + 1);
        this.#run(this.#channels.get(job.channel)!, job, parents?.get(job.deliveryId));
      }
      for (const w of wants) {
        // A full claim may have left more behind: claim again once there are free slots.
        if ((claimed.get(w.channel) ?? 0) === w.limit) {
          this.#maybeDue.add(w.channel);
          this.#tickAgain = true;
        }
      }
    } catch (err) {
      // A database restart lands here; the poll timer tries again, nothing is lost (rows stay queued).
      for (const w of wants) this.#maybeDue.add(w.channel);
      this.#o.logger.warn({ err }, 'claim pass failed; will retry');
    }
  }

  /** What this pass claims: every channel that may have due work and has free slots. */
  #wants(): ClaimWant[] {
    const wants: ClaimWant[] = [];
    for (const channel of this.#maybeDue) {
      const free = this.#o.concurrency[channel] - (this.#inFlight.get(channel) ?? 0);
      if (free <= 0) continue; // stays marked: claimed when slots free up
      this.#maybeDue.delete(channel);
      wants.push({ channel, limit: Math.min(free, this.#o.batchSize) });
    }
    return wants;
  }

  #run(channel: Channel, job: DeliveryJob, traceParent?: string): void {
    this.#inFlight.set(channel.name, (this.#inFlight.get(channel.name) ?? 0) + 1);
    const controller = new AbortController();
    this.#controllers.add(controller);
    const timeout = setTimeout(
      () => controller.abort(new Error(`send timed out after ${this.#o.timeoutsMs[channel.name]} ms`)),
      this.#o.timeoutsMs[channel.name],
    );
    // The channel's timing, with the budget this delivery was queued with.
    const policy = { ...this.#o.retryPolicies[channel.name], maxAttempts: job.maxAttempts };
    const started = performance.now();
    const run = () =>
      job.escalation
        ? attemptEscalated(this.#escalation, channel, job, policy, controller.signal)
        : attemptDelivery(channel, job, policy, controller.signal, this.#o.logger);
    const parent = this.#o.tracer ? contextOfTraceParent(traceParent) : undefined;
    const span = this.#o.tracer?.startSpan(
      `deliver ${channel.name}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'notify.channel': channel.name,
          'notify.delivery_id': job.deliveryId,
          'notify.attempt': job.attempt,
        },
      },
      parent,
    );
    // The provider call inside runs in the span's context, so its own span is the attempt's child.
    const attempt = span && parent ? context.with(trace.setSpan(parent, span), run) : run();
    void attempt.then((result) => {
      clearTimeout(timeout);
      this.#controllers.delete(controller);
      this.#o.observer?.attempted(job, result, performance.now() - started);
      if (span) {
        span.setAttribute('notify.outcome', result.kind);
        if (result.kind === 'retryable' || result.kind === 'permanent')
          span.setStatus({ code: SpanStatusCode.ERROR, message: result.code });
        span.end();
      }
      this.#outcomes.add(toCompletion(job, result, policy, new Date(this.#clock.now())), channel.name);
    });
  }
}

/** The channels a NOTIFY names (`sms,in_app`); an empty payload means any channel. */
function parseChannels(payload: string): ChannelName[] | undefined {
  if (!payload) return undefined;
  return payload.split(',') as ChannelName[];
}
