/**
 * The stats rollup (migration 0014, docs/stats.md#the-rollup): the figures of each 15-minute UTC
 * slot, computed once the slot is over two hours old ("sealed"), so a 30-day window reads ~3,000
 * slots' rows instead of millions of deliveries. A slot whose rows change after sealing (a late
 * status report, a retry, a deleted user) is marked dirty by a trigger and read from the rows
 * until the next seal recomputes it, so the figures are always those of the rows.
 *
 * Reading (delivery-stats.ts): a window's whole sealed slots come from the rollup, and the rest —
 * its ragged edges, the hours not sealed yet, dirty slots — from the rows.
 */
import { type SQL, sql } from 'drizzle-orm';
import { type Database, type Db, type Queryable, queryRows } from '../db/database.ts';
import { stoppedBy, withStoppableSession } from '../db/stoppable-session.ts';
import type { Logger } from '../logger.ts';
import type { StatsWindow } from './stats-window.ts';

const SLOT_MS = 15 * 60_000;
const SLOT = sql`interval '15 minutes'`;
/** date_bin's origin: any instant on a UTC quarter hour. */
const ORIGIN = sql`timestamptz '2000-01-01 00:00:00+00'`;
/** Slots are sealed once they end this long ago; the triggers mark changes to rows over an hour old. */
const SEAL_AFTER = sql`interval '2 hours'`;
/** One seal statement covers at most this many slots (six hours), to stay well inside statement_timeout. */
const SLOTS_PER_STATEMENT = 24;

/**
 * The part of a window read from the rollup: whole sealed slots in [from, to), less the dirty
 * ones (as merged ranges), which are read from the rows. Read in a statement of its own, so it is
 * the rollup's state as of that moment (a slot dirtied a moment later still shows the figures it
 * had when this was read; the next read sees the change).
 */
export interface Cover {
  from: string;
  to: string;
  dirty: Array<{ from: string; to: string }>;
}

/** Past this many dirty ranges, read the window from the rows until the next seal. */
const MAX_DIRTY_RANGES = 50;

export async function rollupCover(q: Queryable, w: StatsWindow): Promise<Cover | undefined> {
  const [row] = await queryRows<{ sealed_ms: number | null }>(
    q,
    sql`select (extract(epoch from sealed_to) * 1000)::float8 as sealed_ms from stats_seal`,
  );
  if (row?.sealed_ms == null) return undefined;
  const from = Math.ceil(w.from.getTime() / SLOT_MS) * SLOT_MS;
  const to = Math.min(Math.floor(w.to.getTime() / SLOT_MS) * SLOT_MS, row.sealed_ms);
  if (to <= from) return undefined;
  const iso = (ms: number) => new Date(ms).toISOString();
  const slots = await queryRows<{ ms: number }>(
    q,
    // A mark before final_before is ignored: that slot's rows may be gone (retention), its figures stay.
    sql`select distinct (extract(epoch from slot) * 1000)::float8 as ms from stats_dirty_slots
        where slot >= ${iso(from)}::timestamptz and slot < ${iso(to)}::timestamptz
          and slot >= coalesce((select final_before from stats_seal), '-infinity') order by 1`,
  );
  const dirty: Array<{ from: number; to: number }> = [];
  for (const { ms } of slots) {
    const last = dirty.at(-1);
    if (last && last.to === ms) last.to = ms + SLOT_MS;
    else dirty.push({ from: ms, to: ms + SLOT_MS });
  }
  if (dirty.length > MAX_DIRTY_RANGES) return undefined;
  return {
    from: iso(from),
    to: iso(to),
    dirty: dirty.map((r) => ({ from: iso(r.from), to: iso(r.to) })),
  };
}

/**
 * The rows of `table` (deliveries or notifications) in the window that the cover does not hold,
 * as a subquery: each part a range with literal bounds, which its created_at index reads and the
 * planner estimates from its statistics.
 */
export function uncovered(table: 'deliveries' | 'notifications', w: StatsWindow, c: Cover | undefined): SQL {
  const t = sql.raw(table);
  const ranges = c
    ? [{ from: w.from.toISOString(), to: c.from }, ...c.dirty, { from: c.to, to: w.to.toISOString() }]
    : [{ from: w.from.toISOString(), to: w.to.toISOString() }];
  const parts = ranges.map(
    (r) =>
      sql`select t.* from ${t} t where t.created_at >= ${r.from}::timestamptz and t.created_at < ${r.to}::timestamptz`,
  );
  return sql`(${sql.join(parts, sql` union all `)})`;
}

/** The rollup rows of the cover's clean slots (none without a cover). */
export function covered(table: 'stats_delivery_slots' | 'stats_type_slots', c: Cover | undefined): SQL {
  const t = sql.raw(table);
  if (!c) return sql`(select r.* from ${t} r where false)`;
  const clean = c.dirty.map(
    (r) => sql` and not (r.slot >= ${r.from}::timestamptz and r.slot < ${r.to}::timestamptz)`,
  );
  return sql`(select r.* from ${t} r
              where r.slot >= ${c.from}::timestamptz and r.slot < ${c.to}::timestamptz${sql.join(clean, sql``)})`;
}

/**
 * The provider a delivery went through, as the rollup and the deliveries gauge group it: the SMS
 * route's choice (`details.route.provider`, twilio or vonage); null for other channels and for an SMS
 * no provider was asked for (skipped, not sent yet). Read from a row aliased `d`.
 */
export const DELIVERY_PROVIDER = sql`(d.details -> 'route' ->> 'provider')`;

/** Any fixed key: one sealer at a time across processes. */
export const SEAL_LOCK = 1_500_150_014;

/**
 * Seals every slot that ended over two hours ago (by the database's clock, the triggers' clock)
 * and recomputes the dirty ones, six hours of slots per transaction. Returns how many ran. Several
 * processes may call it: each transaction first waits for the others' advisory lock, so its
 * statement's snapshot sees what they sealed (two sealers on one snapshot would both add a slot).
 * A stop (`signal`) ends it between two transactions, throwing the signal's reason: a backlog of a
 * year is over a thousand of them, and what is sealed so far stays sealed.
 */
export async function sealStats(db: Db, signal?: AbortSignal): Promise<number> {
  let transactions = 0;
  for (;;) {
    signal?.throwIfAborted();
    const more = await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${SEAL_LOCK})`);
      const [row] = await queryRows<{ more: boolean }>(tx, sealStatement());
      return row?.more === true;
    });
    transactions += 1;
    if (!more) return transactions;
  }
}

/**
 * Makes the slots before `cutoff` (rounded down to a slot, never past what is sealed) final, after
 * sealing everything sealable and recomputing every dirty slot, all under the sealers' lock: from
 * then on their rollup rows are their figures, and the rows in them may be deleted (retention).
 * Returns the instant before which slots are final, or null when nothing is sealed yet.
 */
export async function finalizeStatsBefore(db: Db, cutoff: Date, signal?: AbortSignal): Promise<Date | null> {
  await sealStats(db, signal);
  signal?.throwIfAborted();
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${SEAL_LOCK})`);
    // A change committed since the seal above left a mark: recompute it before the slot is final.
    for (;;) {
      const [row] = await queryRows<{ more: boolean }>(tx, sealStatement());
      if (row?.more !== true) break;
    }
    const [row] = await queryRows<{ final_ms: number | null }>(
      tx,
      sql`update stats_seal set final_before = ${finalBefore(cutoff)}
          returning (extract(epoch from final_before) * 1000)::float8 as final_ms`,
    );
    return row?.final_ms == null ? null : new Date(row.final_ms);
  });
}

/** What finalizeStatsBefore would return now, changing nothing (retention's dry run). */
export async function finalBeforeIfSealed(q: Queryable, cutoff: Date): Promise<Date | null> {
  const [row] = await queryRows<{ final_ms: number | null }>(
    q,
    sql`select (extract(epoch from ${finalBefore(cutoff)}) * 1000)::float8 as final_ms from stats_seal`,
  );
  return row?.final_ms == null ? null : new Date(row.final_ms);
}

/** Never moves back, never past sealed_to (greatest and least skip nulls: hence the case). */
function finalBefore(cutoff: Date): SQL {
  return sql`case when sealed_to is null then final_before
                  else greatest(final_before,
                                least(date_bin(${SLOT}, ${cutoff.toISOString()}::timestamptz, ${ORIGIN}), sealed_to))
             end`;
}

/**
 * Seals now and then every `intervalMs` (a worker's chore); returns the stop function. A tick while
 * a seal still runs (a long backlog) is skipped rather than queued behind the lock. The seal runs on
 * a connection of its own, so the stop cancels its statement instead of waiting for the backlog.
 */
export function startStatsSealer(
  database: Database,
  logger: Pick<Logger, 'warn'>,
  intervalMs = 300_000,
): () => Promise<void> {
  const stopping = new AbortController();
  let running: Promise<unknown> | undefined;
  const seal = () => {
    running ??= withStoppableSession(database, stopping.signal, ({ db }) => sealStats(db, stopping.signal))
      .catch((err: Error) => {
        if (!stoppedBy(err, stopping.signal)) logger.warn({ err }, 'stats rollup seal failed; will retry');
      })
      .finally(() => {
        running = undefined;
      });
  };
  seal();
  const timer = setInterval(seal, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    stopping.abort();
    await running;
  };
}

/**
 * One statement: the next day of unsealed slots [a, b) and every dirty slot before b. All of it in
 * one snapshot, so the marks it deletes are exactly those whose changes the rows it reads include;
 * a change committed meanwhile leaves its own mark behind.
 */
function sealStatement(): SQL {
  return sql`
    with bounds as (
      select coalesce(s.sealed_to,
                      date_bin(${SLOT}, least((select min(created_at) from deliveries),
                                              (select min(created_at) from notifications)), ${ORIGIN}),
                      e.sealable) as a,
             e.sealable, coalesce(s.final_before, '-infinity') as final_before
      from stats_seal s, (select date_bin(${SLOT}, now() - ${SEAL_AFTER}, ${ORIGIN}) as sealable) e
    ), span as (
      select a, least(a + ${SLOTS_PER_STATEMENT} * ${SLOT}, greatest(a, sealable)) as b, sealable, final_before
      from bounds
    ), cleared as (
      delete from stats_dirty_slots x using span where x.slot < span.b returning x.slot
    ), redo as (
      -- A final slot (before final_before) is never recomputed: its rows may be gone.
      select distinct c.slot from cleared c, span where c.slot < span.a and c.slot >= span.final_before
    ), gone_d as (
      delete from stats_delivery_slots r using span
      where (r.slot >= span.a and r.slot < span.b) or r.slot in (select slot from redo)
    ), gone_t as (
      delete from stats_type_slots r using span
      where (r.slot >= span.a and r.slot < span.b) or r.slot in (select slot from redo)
    ), ds as (
      select d.* from deliveries d, span where d.created_at >= span.a and d.created_at < span.b
      union all
      select d.* from redo x join deliveries d on d.created_at >= x.slot and d.created_at < x.slot + ${SLOT}
    ), new_d as (
      insert into stats_delivery_slots
        (slot, channel, status, skip_reason, error_code, handed, provider, n, segments, estimated, reported, priced, currency)
      select date_bin(${SLOT}, d.created_at, ${ORIGIN}), d.channel, d.status, d.skip_reason, d.error_code,
             d.sent_at is not null, ${DELIVERY_PROVIDER}, count(*)::int,
             coalesce(sum((d.details ->> 'segments')::int) filter (where d.sent_at is not null), 0),
             sum(d.cost_amount),
             sum(abs((d.details ->> 'price')::numeric)) filter (where d.details ->> 'price' ~ '^-?[0-9]+(\\.[0-9]+)?$'),
             count(*) filter (where d.details ->> 'price' ~ '^-?[0-9]+(\\.[0-9]+)?$')::int,
             max(d.cost_currency)
      from ds d group by 1, 2, 3, 4, 5, 6, 7
    ), ns as (
      select n.* from notifications n, span where n.created_at >= span.a and n.created_at < span.b
      union all
      select n.* from redo x join notifications n on n.created_at >= x.slot and n.created_at < x.slot + ${SLOT}
    ), new_t as (
      insert into stats_type_slots (slot, type, notifications, delivered, failed, skipped, pending)
      select date_bin(${SLOT}, n.created_at, ${ORIGIN}), n.type, count(distinct n.id)::int,
             count(d.id) filter (where d.status = 'delivered')::int,
             count(d.id) filter (where d.status = 'failed')::int,
             count(d.id) filter (where d.status = 'skipped')::int,
             count(d.id) filter (where d.status in ('queued', 'sending'))::int
      from ns n left join deliveries d on d.notification_id = n.id
      group by 1, 2
    ), sealed as (
      update stats_seal s set sealed_to = span.b from span
    )
    select span.b < span.sealable as more from span`;
}
