import type { SmsService } from '../channels/sms/sms-service.ts';
import { type Clock, systemClock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { takeStaleSent } from '../deliveries/take-stale-sent.ts';
import type { Logger } from '../logger.ts';
import { recordSmsStatus, type SmsStatusDeps, twilioStatusReport } from './sms-status.ts';

export interface StatusSweepOptions {
  db: Db;
  service: SmsService;
  status: SmsStatusDeps;
  logger: Logger;
  intervalMs: number;
  staleAfterMs: number;
  batchSize?: number;
  /** Rounds and "quiet too long" run on it (default: the system clock). */
  clock?: Clock;
}

/**
 * Status callbacks are best-effort (Twilio does not retry them, and one can beat our own write of
 * `sent`), so a delivery must not wait in `sent` forever: this asks Twilio about the ones that have
 * been quiet too long and records the answer exactly as a callback would be recorded.
 */
export class SmsStatusSweep {
  readonly #o: StatusSweepOptions;
  #cancel: (() => void) | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(options: StatusSweepOptions) {
    this.#o = options;
  }

  /** A round every intervalMs of the clock's time; a test steps its clock to run one. */
  start(): void {
    this.#cancel = (this.#o.clock ?? systemClock).setTimeout(() => {
      if (this.#stopped) return;
      this.start();
      this.#running ??= this.sweep()
        .then(() => undefined)
        .catch((err) => this.#o.logger.warn({ err }, 'SMS status sweep failed'))
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#o.intervalMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    await this.#running;
  }

  /** One round; returns how many deliveries changed. */
  async sweep(): Promise<number> {
    const stale = await takeStaleSent(
      this.#o.db,
      'sms',
      // Twilio's are fetched; Vonage's SMS API has no status lookup: its receipts are all we learn.
      'twilio',
      this.#o.staleAfterMs,
      this.#o.batchSize ?? 50,
      (this.#o.clock ?? systemClock).sqlNow(),
    );
    let changed = 0;
    for (const d of stale) {
      const m = await this.#o.service.getMessageStatus(d.providerMessageId);
      const applied = await recordSmsStatus(
        twilioStatusReport({
          sid: m.sid,
          status: m.status,
          errorCode: m.error_code,
          errorMessage: m.error_message,
          price: m.price,
        }),
        this.#o.status,
        'status sweep',
      );
      if (applied?.applied) changed++;
    }
    if (changed > 0) this.#o.logger.info({ changed, checked: stale.length }, 'SMS status sweep caught up');
    return changed;
  }
}
