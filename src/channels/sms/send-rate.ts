/**
 * Per-sender send rate (Twilio queues what exceeds a sender's messages per second and fails it with
 * 30001 when it waits too long, so we pace ourselves). One token bucket per sender in PostgreSQL,
 * shared by every worker: taking a token is one short transaction on the sender's row, with the
 * database's clock so workers on different hosts agree. A send may reserve a token up to
 * `maxWaitMs` ahead (the bucket goes into debt) and sleeps until its turn, so a burst leaves at
 * exactly the rate with one query per message and nothing is dropped.
 */
import { eq, sql } from 'drizzle-orm';
import type { Config } from '../../config.ts';
import { type Db, queryRows } from '../../db/database.ts';
import { smsSendRate } from '../../db/schema.ts';
import type { Channel, DeliveryJob, SendResult } from '../channel.ts';

export interface Bucket {
  tokens: number;
  refilledAtMs: number;
}

export interface RateLimits {
  perSecond: number;
  /** Most tokens saved up while idle. */
  burst: number;
  /** Furthest ahead a token may be reserved. */
  maxWaitMs: number;
}

export type Take = { granted: true; bucket: Bucket; waitMs: number } | { granted: false; retryInMs: number };

/** Take one token at `nowMs` (pure): refill for the time elapsed, then reserve, possibly ahead. */
export function takeToken(bucket: Bucket, nowMs: number, limits: RateLimits): Take {
  const elapsed = Math.max(0, nowMs - bucket.refilledAtMs);
  const refilled = Math.min(limits.burst, bucket.tokens + (elapsed / 1000) * limits.perSecond);
  const after = refilled - 1;
  const waitMs = after >= 0 ? 0 : (-after / limits.perSecond) * 1000;
  if (waitMs > limits.maxWaitMs) return { granted: false, retryInMs: waitMs - limits.maxWaitMs };
  return { granted: true, bucket: { tokens: after, refilledAtMs: nowMs }, waitMs };
}

/** The buckets in the `sms_send_rate` table. A new sender starts empty: what it sent just before
 * (another deployment, a restart) is unknown, and starting empty never exceeds the rate. */
export class PgSendRate {
  readonly #db: Db;
  readonly #limits: RateLimits;

  constructor(db: Db, limits: RateLimits) {
    this.#db = db;
    this.#limits = limits;
  }

  async take(sender: string): Promise<Take> {
    return this.#db.transaction(async (tx) => {
      await tx
        .insert(smsSendRate)
        .values({ sender, tokens: 0, refilledAt: sql`clock_timestamp()` })
        .onConflictDoNothing();
      const [row] = await queryRows<{ tokens: number; refilled_at: string | Date; now: string | Date }>(
        tx,
        sql`select tokens, refilled_at, clock_timestamp() as now from sms_send_rate
            where sender = ${sender} for update`,
      );
      const bucket = { tokens: Number(row!.tokens), refilledAtMs: new Date(row!.refilled_at).getTime() };
      const result = takeToken(bucket, new Date(row!.now).getTime(), this.#limits);
      if (result.granted) {
        await tx
          .update(smsSendRate)
          .set({ tokens: result.bucket.tokens, refilledAt: new Date(result.bucket.refilledAtMs) })
          .where(eq(smsSendRate.sender, sender));
      }
      return result;
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort);
  });
}

/**
 * Wraps the SMS channel: each send waits for its sender's token first. A send that cannot get one
 * within `maxWaitMs` is retried later (well within the worker's lease, so no other worker takes it).
 */
export class RateLimitedSmsChannel implements Channel {
  readonly name = 'sms' as const;
  readonly #inner: Channel;
  readonly #rate: PgSendRate;
  readonly #sender: string;
  readonly #maxWaitMs: number;
  /** A lookup sends nothing, so it takes no token. */
  readonly lookup: Channel['lookup'];

  constructor(inner: Channel, rate: PgSendRate, sender: string, maxWaitMs: number) {
    this.#inner = inner;
    this.lookup = inner.lookup?.bind(inner);
    this.#rate = rate;
    this.#sender = sender;
    this.#maxWaitMs = maxWaitMs;
  }

  async send(job: DeliveryJob, signal: AbortSignal): Promise<SendResult> {
    const deadline = Date.now() + this.#maxWaitMs;
    for (;;) {
      const take = await this.#rate.take(this.#sender);
      const waitMs = take.granted ? take.waitMs : take.retryInMs;
      if (!take.granted && Date.now() + waitMs > deadline) {
        const message = `send rate of ${this.#sender} exhausted for ${this.#maxWaitMs} ms`;
        return { kind: 'retryable', code: 'SEND_RATE_LIMITED', message, retryAfterMs: waitMs };
      }
      if (waitMs > 0 && !(await sleep(waitMs, signal))) {
        return { kind: 'retryable', code: 'TIMEOUT', message: 'aborted while waiting for the send rate' };
      }
      if (take.granted) return this.#inner.send(job, signal);
    }
  }
}

/** The SMS channel paced per SMS_SEND_RATE_PER_SECOND, or unchanged when no rate is configured. */
export function withSendRate(
  inner: Channel,
  db: Db,
  config: Pick<Config, 'SMS_SEND_RATE_PER_SECOND' | 'SMS_SEND_RATE_BURST' | 'SMS_SEND_RATE_MAX_WAIT_MS'>,
  sender: string,
): Channel {
  const perSecond = config.SMS_SEND_RATE_PER_SECOND;
  if (!perSecond) return inner;
  const limits = {
    perSecond,
    burst: config.SMS_SEND_RATE_BURST ?? perSecond,
    maxWaitMs: config.SMS_SEND_RATE_MAX_WAIT_MS,
  };
  return new RateLimitedSmsChannel(inner, new PgSendRate(db, limits), sender, limits.maxWaitMs);
}
