/**
 * What retention deletes, table by table (docs/retention.md has the whole list, with what is kept
 * and why). Each target deletes one batch per call: the oldest rows before the cutoff after a
 * cursor, by their key, so a batch is one short statement and rows kept on purpose (an old but
 * unfinished notification) are read once per run, not once per batch.
 */
import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';
import {
  deleteFinishedNotifications,
  FINISHED_NOTIFICATION_TABLES,
  type RetentionBatchArgs,
  type RetentionBatchResult,
} from '../deliveries/retention-batch.ts';
import { deleteFinishedWebhookMessages, FINISHED_WEBHOOK_TABLES } from '../webhooks/outbox-retention.ts';

export type Cursor = readonly string[];
export type BatchArgs = RetentionBatchArgs;
export type BatchResult = RetentionBatchResult;

/** The windows in days; 0 keeps that kind for good. */
export interface RetentionWindows {
  notifications: number;
  inboundSms: number;
}

export interface RetentionTarget {
  name: string;
  /** The tables whose rows it deletes, children first (the order of the counts). */
  tables: readonly string[];
  days(w: RetentionWindows): number;
  /** The stats rollup counts these rows: their slots are made final before any is deleted. */
  rollup: boolean;
  batch(q: Queryable, a: BatchArgs): Promise<BatchResult>;
}

/** Old notifications whose deliveries are all finished, with those deliveries and their history. */
const notifications: RetentionTarget = {
  name: 'notifications',
  tables: FINISHED_NOTIFICATION_TABLES,
  days: (w) => w.notifications,
  rollup: true,
  batch: deleteFinishedNotifications,
};

/**
 * A table whose every row older than the window goes. Everything scanned is deleted, so a batch
 * needs no cursor: the oldest `limit` rows by the time column's index, by their key. A dry run
 * counts them all in one statement (an index range; the same rows a run deletes).
 */
function byAge(
  name: string,
  time: string,
  keys: readonly string[],
  days: (w: RetentionWindows) => number,
): RetentionTarget {
  const t = sql.raw(name);
  const at = sql.raw(time);
  const cols = sql.raw(keys.join(', '));
  const join = sql.raw(keys.map((c) => `x.${c} = s.${c}`).join(' and '));
  return {
    name,
    tables: [name],
    days,
    rollup: false,
    async batch(q, { before, limit, dryRun }) {
      const old = sql`${at} < ${before.toISOString()}::timestamptz`;
      const [row] = dryRun
        ? await queryRows<{ n: number }>(q, sql`select count(*)::int as n from ${t} where ${old}`)
        : await queryRows<{ n: number }>(
            q,
            sql`with scanned as (select ${cols} from ${t} where ${old} order by ${at} limit ${limit}),
                gone as (delete from ${t} x using scanned s where ${join} returning 1)
                select count(*)::int as n from gone`,
          );
      const n = row?.n ?? 0;
      // A dry run's one count is the whole table's answer: no next batch.
      return { counts: { [name]: n }, scanned: dryRun ? 0 : n, cursor: dryRun || n < limit ? null : [] };
    },
  };
}

/** Old webhook messages delivered or given up, with their attempts (never one still to send). */
const webhookMessages: RetentionTarget = {
  name: 'webhook_outbox',
  tables: FINISHED_WEBHOOK_TABLES,
  days: (w) => w.notifications,
  rollup: false,
  batch: deleteFinishedWebhookMessages,
};

/**
 * In the order they run. The idempotency keys go with the notifications they name (a replay after
 * the window creates the notification again). Sandbox records are in memory and bounded, early
 * provider statuses are pruned after a day by lc_apply_provider_statuses, expired console sessions
 * at each sign-in; the rest is kept (docs/retention.md#what-is-kept).
 */
export const RETENTION_TARGETS: readonly RetentionTarget[] = [
  notifications,
  byAge('idempotency_keys', 'created_at', ['scope', 'key'], (w) => w.notifications),
  byAge('inbound_sms', 'created_at', ['id'], (w) => w.inboundSms),
  webhookMessages,
];

/** Every table a run reports, in run order. */
export function retentionTables(): string[] {
  return RETENTION_TARGETS.flatMap((t) => t.tables);
}
