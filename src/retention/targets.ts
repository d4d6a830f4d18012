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

/** A table whose every row older than the window goes, oldest first by (time, key). */
function byAge(
  name: string,
  time: string,
  keys: ReadonlyArray<readonly [column: string, type: 'bigint' | 'text']>,
  days: (w: RetentionWindows) => number,
): RetentionTarget {
  const t = sql.raw(name);
  const at = sql.raw(time);
  const cols = sql.raw(keys.map(([c]) => c).join(', '));
  const desc = sql.raw(keys.map(([c]) => `${c} desc`).join(', '));
  const join = sql.raw(keys.map(([c]) => `x.${c} = s.${c}`).join(' and '));
  const lastKeys = sql.raw(keys.map(([c], i) => `${c}::text as k${i}`).join(', '));
  return {
    name,
    tables: [name],
    days,
    rollup: false,
    async batch(q, { before, after, limit, dryRun }) {
      const from = after
        ? sql`and (${at}, ${cols}) > (${after[0]}::timestamptz, ${sql.join(
            keys.map(([, type], i) => sql`${after[i + 1]}::${sql.raw(type)}`),
            sql`, `,
          )})`
        : sql``;
      const gone = dryRun
        ? sql`select 1 from scanned`
        : sql`delete from ${t} x using scanned s where ${join} returning 1`;
      const rows = await queryRows<Record<string, string | number | null>>(
        q,
        sql`with scanned as (
              select ${at}, ${cols} from ${t} where ${at} < ${before.toISOString()}::timestamptz ${from}
              order by ${at}, ${cols} limit ${limit}
            ), gone as (${gone}),
            last as (select ${at}::text as at, ${lastKeys} from scanned order by ${at} desc, ${desc} limit 1)
            select (select count(*)::int from gone) as n, (select count(*)::int from scanned) as scanned, last.*
            from (select 1) one left join last on true`,
      );
      const row = rows[0]!;
      return {
        counts: { [name]: Number(row['n']) },
        scanned: Number(row['scanned']),
        cursor: row['at'] == null ? null : [String(row['at']), ...keys.map((_, i) => String(row[`k${i}`]))],
      };
    },
  };
}

/**
 * In the order they run. The idempotency keys go with the notifications they name (a replay after
 * the window creates the notification again). Sandbox records are in memory and bounded, early
 * provider statuses are pruned after a day by lc_apply_provider_statuses, expired console sessions
 * at each sign-in; the rest is kept (docs/retention.md#what-is-kept).
 */
export const RETENTION_TARGETS: readonly RetentionTarget[] = [
  notifications,
  byAge(
    'idempotency_keys',
    'created_at',
    [
      ['scope', 'text'],
      ['key', 'text'],
    ],
    (w) => w.notifications,
  ),
  byAge('inbound_sms', 'created_at', [['id', 'bigint']], (w) => w.inboundSms),
  // Outbound webhooks (issue 20 §1) go here when their tables exist: webhook_attempts, then
  // webhook_outbox rows that were delivered or given up (never one still to send), children first.
];

/** Every table a run reports, in run order. */
export function retentionTables(): string[] {
  return RETENTION_TARGETS.flatMap((t) => t.tables);
}
