import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { type RetentionOptions, type RetentionReport, runRetention } from './run-retention.ts';

export interface RetentionJobOptions
  extends Omit<RetentionOptions, 'dryRun' | 'skipIfRanWithinMs' | 'signal'> {
  database: Database;
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  intervalMs: number;
  /** After each pass (tests wait on it). */
  onPass?: (report: RetentionReport) => void;
}

/**
 * Retention as a worker node's chore: a pass at start and then every `intervalMs` of the injected
 * clock. Every worker node runs the timer; a pass skips when another node holds the lock or one
 * finished within 90% of the interval (timers on several nodes drift), so it runs about once per
 * interval across the cluster. Returns the stop function: it ends a pass between two batches.
 */
export function startRetentionJob(opts: RetentionJobOptions): () => Promise<void> {
  const { database, clock, logger, intervalMs, onPass, ...run } = opts;
  const stopping = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let cancel = () => {};
  const pass = () => {
    running = runRetention(
      { database, clock },
      { ...run, skipIfRanWithinMs: intervalMs * 0.9, signal: stopping.signal },
    )
      .then((report) => {
        const total = Object.values(report.deleted).reduce((a, b) => a + b, 0);
        if (!report.skipped && total > 0) {
          logger.info(
            { deleted: report.deleted, batches: report.batches, aborted: report.aborted },
            'retention pass',
          );
        }
        onPass?.(report);
      })
      .catch((err: Error) => logger.warn({ err }, 'retention pass failed; will retry'))
      .finally(() => {
        if (!stopping.signal.aborted) cancel = clock.setTimeout(pass, intervalMs);
      });
  };
  cancel = clock.setTimeout(pass, 0);
  return async () => {
    stopping.abort();
    cancel();
    await running;
  };
}

/** The windows and pacing the configuration asks for. */
export function retentionSettings(
  config: Pick<
    Config,
    'RETENTION_DAYS' | 'RETENTION_INBOUND_SMS_DAYS' | 'RETENTION_BATCH_SIZE' | 'RETENTION_BATCH_PAUSE_MS'
  >,
): Pick<RetentionOptions, 'windows' | 'batchSize' | 'pauseMs'> {
  return {
    windows: {
      notifications: config.RETENTION_DAYS,
      inboundSms: config.RETENTION_INBOUND_SMS_DAYS ?? config.RETENTION_DAYS,
    },
    batchSize: config.RETENTION_BATCH_SIZE,
    pauseMs: config.RETENTION_BATCH_PAUSE_MS,
  };
}

/** Whether any kind has a window: with none, the job does not start. */
export function retentionOn(settings: Pick<RetentionOptions, 'windows'>): boolean {
  return Object.values(settings.windows).some((d) => d > 0);
}
