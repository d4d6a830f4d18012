/**
 * One retention run (docs/retention.md): for each target, batches of old rows deleted oldest first,
 * a pause between batches so the hot path keeps the database most of the time, on one node at a
 * time across the cluster (a session advisory lock). The stats rollup's slots are made final up to
 * the cutoff first, so the figures of the days whose rows go stay answerable from the rollup.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import type { Clock } from '../clock.ts';
import { withSessionAdvisoryLock } from '../db/advisory-lock.ts';
import { type Database, type Db, queryRows } from '../db/database.ts';
import { stoppedBy } from '../db/stoppable-session.ts';
import { finalBeforeIfSealed, finalizeStatsBefore, sealStats } from '../stats/stats-rollup.ts';
import {
  type BatchArgs,
  type BatchResult,
  RETENTION_TARGETS,
  type RetentionWindows,
  retentionTables,
} from './targets.ts';

/** Any fixed key: retention's lock space ("LC" and 3; 1 and 2 are migrations 0018's and 0022's). */
export const RETENTION_LOCK = 1279459331;

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  windows: RetentionWindows;
  batchSize: number;
  /** Real time between batches: it paces work against the machine, not a product rule. */
  pauseMs: number;
  dryRun?: boolean;
  /** Skip when a run finished less than this long ago (the periodic job; a CLI run never skips). */
  skipIfRanWithinMs?: number;
  /** After each batch: where the run is, for a progress line. */
  onBatch?: (p: {
    target: string;
    batches: number;
    deleted: Readonly<Record<string, number>>;
  }) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface RetentionReport {
  /** Why nothing ran: another node holds the lock, or a run finished recently. */
  skipped?: 'locked' | 'recent';
  dryRun: boolean;
  /** Per target, the instant before which its rows went (null: kept, or nothing sealed yet). */
  cutoffs: Record<string, string | null>;
  /** Per table, rows deleted (dry: rows that would be). */
  deleted: Record<string, number>;
  batches: number;
  /**
   * Stopped (the worker shutting down), between statements or by cancelling the one under way: the
   * batch it was in rolled back, those before it stay done, the rest waits for the next run.
   */
  aborted: boolean;
}

/** The run, under the lock, on the lock's connection (a stop cancels the statement under way). */
async function runLocked(
  db: Db,
  clock: Clock,
  opts: RetentionOptions,
  report: RetentionReport,
): Promise<RetentionReport> {
  const dryRun = report.dryRun;
  const now = clock.now();
  if (opts.skipIfRanWithinMs !== undefined) {
    const [last] = await queryRows<{ ms: number | null }>(
      db,
      sql`select (extract(epoch from last_finished_at) * 1000)::float8 as ms from retention_state`,
    );
    if (last?.ms != null && now - last.ms < opts.skipIfRanWithinMs) return { ...report, skipped: 'recent' };
  }
  if (!dryRun) {
    await db.execute(sql`insert into retention_state (id, last_started_at) values (1, ${new Date(now).toISOString()})
                         on conflict (id) do update set last_started_at = excluded.last_started_at`);
  }
  for (const target of RETENTION_TARGETS) {
    const days = target.days(opts.windows);
    let before: Date | null = days > 0 ? new Date(now - days * DAY_MS) : null;
    if (before && target.rollup) {
      // A dry run seals too (the worker's routine, no row deleted) but makes nothing final.
      before = dryRun
        ? await sealStats(db, opts.signal).then(() => finalBeforeIfSealed(db, before!))
        : await finalizeStatsBefore(db, before, opts.signal);
    }
    report.cutoffs[target.name] = before?.toISOString() ?? null;
    if (!before) continue;
    let after: readonly string[] | null = null;
    for (let batches = 1; ; batches++) {
      opts.signal?.throwIfAborted();
      const args: BatchArgs = { before, after, limit: opts.batchSize, dryRun };
      const result: BatchResult = dryRun
        ? await target.batch(db, args)
        : await db.transaction(async (tx) => {
            // The rollup's triggers skip retention's deletions: their slots are final (migration 0027).
            await tx.execute(sql`select set_config('lc.retention', 'on', true)`);
            return target.batch(tx, args);
          });
      for (const [table, n] of Object.entries(result.counts))
        report.deleted[table] = (report.deleted[table] ?? 0) + n;
      report.batches += 1;
      await opts.onBatch?.({ target: target.name, batches, deleted: report.deleted });
      if (result.scanned < opts.batchSize || !result.cursor) break;
      after = result.cursor;
      await pause(opts);
    }
  }
  if (!dryRun) {
    await db.execute(sql`update retention_state set last_finished_at = ${new Date(clock.now()).toISOString()},
                           last_deleted = ${JSON.stringify(report.deleted)}::jsonb where id = 1`);
  }
  return report;
}

export interface RetentionDeps {
  database: Database;
  clock: Clock;
}

export async function runRetention(deps: RetentionDeps, opts: RetentionOptions): Promise<RetentionReport> {
  const dryRun = opts.dryRun === true;
  const empty = (): RetentionReport => ({
    dryRun,
    cutoffs: {},
    deleted: Object.fromEntries(retentionTables().map((t) => [t, 0])),
    batches: 0,
    aborted: false,
  });
  const report = empty();
  let ran: Awaited<ReturnType<typeof withSessionAdvisoryLock<RetentionReport>>>;
  try {
    ran = await withSessionAdvisoryLock(
      deps.database,
      RETENTION_LOCK,
      (db) => runLocked(db, deps.clock, opts, report),
      { signal: opts.signal },
    );
  } catch (err) {
    // Stopped mid-statement: that batch rolled back, those before it stay; the next run goes on.
    if (!stoppedBy(err, opts.signal)) throw err;
    return { ...report, aborted: true };
  }
  return ran.acquired ? ran.value : { ...empty(), skipped: 'locked' };
}

/** Waits the pause between batches; a stop meanwhile throws the signal's reason. */
async function pause(opts: RetentionOptions): Promise<void> {
  opts.signal?.throwIfAborted();
  if (opts.pauseMs > 0) await sleep(opts.pauseMs, undefined, { signal: opts.signal });
}

/** When retention last ran (for the CLI's `retention status`). */
export async function lastRetentionRun(database: Database): Promise<{
  startedAt: string | null;
  finishedAt: string | null;
  deleted: Record<string, number> | null;
}> {
  const [row] = await queryRows<{ s: string | null; f: string | null; d: Record<string, number> | null }>(
    database.db,
    sql`select to_json(last_started_at) #>> '{}' as s, to_json(last_finished_at) #>> '{}' as f, last_deleted as d
        from retention_state`,
  );
  return { startedAt: row?.s ?? null, finishedAt: row?.f ?? null, deleted: row?.d ?? null };
}
