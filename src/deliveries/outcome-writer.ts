import type { ChannelName } from '../catalog/catalog.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { type Completion, completeBatch } from './complete.ts';

export interface OutcomeWriterOptions {
  database: Database;
  workerId: string;
  logger: Logger;
  /** Writes start at least this far apart, so the outcomes of many sends share one write. */
  gapMs: number;
  /** After each written batch: the channel of every outcome in it (their slots are free now). */
  onWritten(channels: readonly ChannelName[]): void;
}

/**
 * A worker's outcomes on their way to the database, written in batches (complete.ts). A batch that
 * fails is kept and tried again: dropping it would resend once the lease expired. A delivery stays
 * in flight until its outcome is written, which is what `onWritten` tells the worker.
 */
export class OutcomeWriter {
  readonly #o: OutcomeWriterOptions;
  #pending: Array<{ completion: Completion; channel: ChannelName }> = [];
  #flushing: Promise<void> | undefined;
  #lastFlush = Number.NEGATIVE_INFINITY;
  /** Drained: a failed write is no longer retried (its lease expires instead). */
  #stopped = false;

  constructor(options: OutcomeWriterOptions) {
    this.#o = options;
  }

  add(completion: Completion, channel: ChannelName): void {
    this.#pending.push({ completion, channel });
    this.#scheduleFlush();
  }

  /** Write what is pending, for at most `graceMs`; then take no more retries. */
  async drain(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.#flushing || this.#pending.length > 0) {
      if (Date.now() > deadline) {
        // The database stayed away: these deliveries stay `sending` until their lease expires.
        this.#o.logger.error({ pending: this.#pending.length }, 'could not write outcomes before stopping');
        break;
      }
      if (!this.#flushing) this.#scheduleFlush();
      await this.#flushing;
    }
    this.#stopped = true;
  }

  #scheduleFlush(): void {
    if (this.#flushing) return;
    const wait = this.#lastFlush + this.#o.gapMs - performance.now();
    this.#flushing = new Promise<void>((resolve) =>
      wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve),
    ).then(() => this.#flush());
  }

  async #flush(): Promise<void> {
    this.#lastFlush = performance.now();
    const batch = this.#pending.splice(0, 1000);
    try {
      if (batch.length > 0) {
        const written = await completeBatch(
          this.#o.database.db,
          this.#o.workerId,
          batch.map((p) => p.completion),
        );
        if (written.size < batch.length) {
          const lost = batch.filter((p) => !written.has(p.completion.id)).map((p) => p.completion.id);
          this.#o.logger.warn(
            { deliveryIds: lost },
            'lease lost before the outcome was written; kept the newer state',
          );
        }
        this.#o.onWritten(batch.map((p) => p.channel));
      }
    } catch (err) {
      this.#pending.unshift(...batch);
      this.#o.logger.warn({ err, pending: this.#pending.length }, 'writing outcomes failed; retrying');
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      this.#flushing = undefined;
      if (this.#pending.length > 0 && !this.#stopped) this.#scheduleFlush();
    }
  }
}
