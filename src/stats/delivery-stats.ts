/**
 * The one place delivery figures are computed: the API (`GET /api/v1/stats`), the `stats` command
 * and the console all show what these functions return, so a number means the same everywhere.
 * Every figure is aggregated in SQL; only the grouped rows (a few per channel, code or bucket)
 * reach JS. Definitions: docs/stats.md.
 *
 * Attribution: a delivery counts in the bucket of its `created_at` (when its notification was
 * created), with the status it has now. So "SMS sent today" is today's SMS that reached Twilio,
 * whatever happened to them after. (The budget monitor sums cost by `sent_at` in UTC days instead:
 * it caps spend as it happens; the two differ only for a retry sent after midnight.)
 *
 * At volume (migration 0014, docs/performance.md): the sealed 15-minute slots of a window come
 * from the rollup (stats-rollup.ts), the rest from the rows through `deliveries (created_at)` and
 * `notifications (created_at, id)`; the queue reads the partial indexes on queued
 * (`deliveries_due_idx`) and sending (`deliveries_lease_idx`) deliveries.
 */

import { sql } from 'drizzle-orm';
import { CHANNELS, type ChannelName } from '../catalog/catalog.ts';
import { describeDeliveryError } from '../channels/delivery-error-info.ts';
import { type Queryable, queryRows } from '../db/database.ts';
import { type Cover, covered, rollupCover, uncovered } from './stats-rollup.ts';
import type { StatsWindow } from './stats-window.ts';

/**
 * Channels whose provider confirms delivery (Twilio's status callbacks). For them "sent" means
 * handed over and not yet confirmed, and counts against the rate until a receipt says delivered.
 */
const CONFIRMING_CHANNELS: ReadonlySet<ChannelName> = new Set(['sms']);

export interface ChannelCounts {
  /** Every delivery created in the window, whatever its status. */
  total: number;
  /** Handed to the provider (sent_at set): sent + delivered + failed after the hand-over. */
  handed_to_provider: number;
  /** Status `sent`: handed over, no final receipt (yet). */
  sent: number;
  delivered: number;
  failed: number;
  /** Queued or being sent now. */
  pending: number;
  skipped: number;
  skipped_by_reason: Record<string, number>;
  /**
   * `confirmed` channels (SMS): delivered ÷ (delivered + failed + sent).
   * `accepted` channels (no receipts: email, push, in-app): (delivered + sent) ÷ (delivered + sent + failed).
   * Pending and skipped deliveries are left out; null when nothing was attempted to an end.
   */
  delivery_rate: number | null;
  rate_basis: 'confirmed' | 'accepted';
}

export interface SmsCost {
  segments: number;
  /** Sum of the estimates stored at send (`deliveries.cost_amount`, src/channels/sms/cost.ts). */
  estimated: number;
  /** Sum of Twilio's reported prices (positive), over `priced` messages only; null when none is known. */
  reported: number | null;
  /** Messages Twilio has reported a price for; the rest are covered by the estimate alone. */
  priced: number;
  currency: string | null;
}

export interface StatsBucket {
  /** The bucket's first instant (ISO, UTC) and its wall-clock label in the window's zone. */
  start: string;
  label: string;
  /** Deliveries created in the bucket, per channel (0 for none). */
  volume: Record<ChannelName, number>;
  sms: SmsCost & { handed_to_provider: number; delivered: number; failed: number };
}

export interface FailureCode {
  channel: ChannelName;
  code: string | null;
  count: number;
  /** From the delivery-error catalogue (channels/delivery-errors.ts); null for a code nothing knows. */
  meaning: string | null;
  /** What an operator does about it, from the same catalogue; null with `meaning`. */
  fix: string | null;
  /** Where the code is documented; null with `meaning`. */
  docs: string | null;
}

export interface TypeCounts {
  type: string;
  notifications: number;
  delivered: number;
  failed: number;
  skipped: number;
  pending: number;
}

export interface QueueDepth {
  channel: ChannelName;
  /** Queued with next_attempt_at ≤ now: waiting for a worker. */
  due: number;
  /** Queued for later (retry back-off, quiet hours, digest). */
  scheduled: number;
  sending: number;
  /** now − the earliest next_attempt_at among due deliveries; null when none is due. */
  oldest_due_age_ms: number | null;
}

export interface DeliveryStats {
  window: { from: string; to: string; granularity: StatsWindow['granularity']; time_zone: string };
  generated_at: string;
  channels: Record<ChannelName, ChannelCounts>;
  sms_cost: SmsCost;
  buckets: StatsBucket[];
  failures: FailureCode[];
  types: TypeCounts[];
  queue: QueueDepth[];
}

/** Every figure for one window; `now` is the clock (queue ages), never read from the wall. */
export async function deliveryStats(q: Queryable, w: StatsWindow, now: Date): Promise<DeliveryStats> {
  const cover = await rollupCover(q, w);
  const [channels, buckets, failures, types, queue] = await Promise.all([
    channelCounts(q, w, cover),
    bucketStats(q, w, cover),
    failureCodes(q, w, cover),
    typeCounts(q, w, cover),
    queueDepth(q, now),
  ]);
  return {
    window: {
      from: w.from.toISOString(),
      to: w.to.toISOString(),
      granularity: w.granularity,
      time_zone: w.timeZone,
    },
    generated_at: now.toISOString(),
    channels,
    sms_cost: totalCost(buckets),
    buckets,
    failures,
    types,
    queue,
  };
}

// Each figure sums two disjoint parts of the window: the sealed slots' rollup rows (`covered`) and
// the rows no clean sealed slot holds (`uncovered`); with nothing sealed, all of it is rows.

export async function channelCounts(
  q: Queryable,
  w: StatsWindow,
  cover?: Cover,
): Promise<Record<ChannelName, ChannelCounts>> {
  const rows = await queryRows<{
    channel: ChannelName;
    status: string;
    skip_reason: string | null;
    handed: boolean;
    n: number;
  }>(
    q,
    sql`select channel, status, skip_reason, handed, sum(n)::int as n from (
          select d.channel, d.status, d.skip_reason, d.sent_at is not null as handed, count(*) as n
          from ${uncovered('deliveries', w, cover)} d group by 1, 2, 3, 4
          union all
          select r.channel, r.status, r.skip_reason, r.handed, r.n from ${covered('stats_delivery_slots', cover)} r
        ) x group by 1, 2, 3, 4`,
  );
  const out = Object.fromEntries(CHANNELS.map((c) => [c, emptyCounts(c)])) as Record<
    ChannelName,
    ChannelCounts
  >;
  for (const r of rows) {
    const c = out[r.channel];
    if (!c) continue; // a channel this build no longer has
    c.total += r.n;
    if (r.handed) c.handed_to_provider += r.n;
    if (r.status === 'sent' || r.status === 'delivered' || r.status === 'failed') c[r.status] += r.n;
    else if (r.status === 'queued' || r.status === 'sending') c.pending += r.n;
    else if (r.status === 'skipped') {
      c.skipped += r.n;
      const reason = r.skip_reason ?? 'unknown';
      c.skipped_by_reason[reason] = (c.skipped_by_reason[reason] ?? 0) + r.n;
    }
  }
  for (const c of Object.values(out)) c.delivery_rate = deliveryRate(c);
  return out;
}

function emptyCounts(channel: ChannelName): ChannelCounts {
  return {
    total: 0,
    handed_to_provider: 0,
    sent: 0,
    delivered: 0,
    failed: 0,
    pending: 0,
    skipped: 0,
    skipped_by_reason: {},
    delivery_rate: null,
    rate_basis: CONFIRMING_CHANNELS.has(channel) ? 'confirmed' : 'accepted',
  };
}

function deliveryRate(c: ChannelCounts): number | null {
  const good = c.rate_basis === 'confirmed' ? c.delivered : c.delivered + c.sent;
  const ended = c.delivered + c.sent + c.failed;
  return ended === 0 ? null : Math.round((good / ended) * 10_000) / 10_000;
}

export async function bucketStats(q: Queryable, w: StatsWindow, cover?: Cover): Promise<StatsBucket[]> {
  const g = w.granularity;
  const tz = w.timeZone;
  const step = `1 ${g}`;
  // Buckets are wall-clock hours/days in the zone (generate_series over local time), so a day is a
  // local day; a DST fall-back hour appears once and holds both of its real hours.
  const rows = await queryRows<{
    wall: string;
    start: string;
    channel: ChannelName | null;
    total: number;
    handed: number;
    delivered: number;
    failed: number;
    segments: number;
    estimated: number;
    reported: number | null;
    priced: number;
    currency: string | null;
  }>(
    q,
    sql`with buckets as (
          select generate_series(
            date_trunc(${g}, ${w.from.toISOString()}::timestamptz at time zone ${tz}),
            (${w.to.toISOString()}::timestamptz at time zone ${tz}) - interval '1 microsecond',
            ${step}::interval) as wall
        ), parts as (
          select date_trunc(${g}, d.created_at at time zone ${tz}) as wall, d.channel,
                 count(*) as total,
                 count(*) filter (where d.sent_at is not null) as handed,
                 count(*) filter (where d.status = 'delivered') as delivered,
                 count(*) filter (where d.status = 'failed') as failed,
                 coalesce(sum((d.details ->> 'segments')::int) filter (where d.sent_at is not null), 0) as segments,
                 sum(d.cost_amount) as estimated,
                 -- Twilio reports price as a negative string ("-0.00750"); anything else is ignored
                 -- (the rollup applies the same rule: stats-rollup.ts).
                 sum(abs((d.details ->> 'price')::numeric))
                   filter (where d.details ->> 'price' ~ '^-?[0-9]+(\\.[0-9]+)?$') as reported,
                 count(*) filter (where d.details ->> 'price' ~ '^-?[0-9]+(\\.[0-9]+)?$') as priced,
                 max(d.cost_currency) as currency
          from ${uncovered('deliveries', w, cover)} d
          group by 1, 2
          union all
          -- A 15-minute UTC slot lies inside one local hour and day of every current zone.
          select date_trunc(${g}, r.slot at time zone ${tz}), r.channel, r.n,
                 case when r.handed then r.n else 0 end,
                 case when r.status = 'delivered' then r.n else 0 end,
                 case when r.status = 'failed' then r.n else 0 end,
                 r.segments, r.estimated, r.reported, r.priced, r.currency
          from ${covered('stats_delivery_slots', cover)} r
        ), agg as (
          select wall, channel, sum(total)::int as total, sum(handed)::int as handed,
                 sum(delivered)::int as delivered, sum(failed)::int as failed, sum(segments)::int as segments,
                 coalesce(sum(estimated), 0)::float8 as estimated, sum(reported)::float8 as reported,
                 sum(priced)::int as priced, max(currency) as currency
          from parts group by 1, 2
        )
        select to_char(b.wall, 'YYYY-MM-DD"T"HH24:MI') as wall,
               to_char((b.wall at time zone ${tz}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as start,
               a.channel, a.total, a.handed, a.delivered, a.failed, a.segments, a.estimated, a.reported,
               a.priced, a.currency
        from buckets b left join agg a on a.wall = b.wall
        order by b.wall, a.channel`,
  );
  const out: StatsBucket[] = [];
  for (const r of rows) {
    let bucket = out.at(-1);
    if (bucket?.start !== r.start) {
      bucket = {
        start: r.start,
        label: g === 'day' ? r.wall.slice(0, 10) : r.wall,
        volume: Object.fromEntries(CHANNELS.map((c) => [c, 0])) as Record<ChannelName, number>,
        sms: { ...emptyCost(), handed_to_provider: 0, delivered: 0, failed: 0 },
      };
      out.push(bucket);
    }
    if (!r.channel || !(r.channel in bucket.volume)) continue;
    bucket.volume[r.channel] = r.total;
    if (r.channel === 'sms') {
      bucket.sms = {
        segments: r.segments,
        estimated: roundMoney(r.estimated),
        reported: r.reported === null ? null : roundMoney(r.reported),
        priced: r.priced,
        currency: r.currency,
        handed_to_provider: r.handed,
        delivered: r.delivered,
        failed: r.failed,
      };
    }
  }
  return out;
}

function emptyCost(): SmsCost {
  return { segments: 0, estimated: 0, reported: null, priced: 0, currency: null };
}

function totalCost(buckets: StatsBucket[]): SmsCost {
  const total = emptyCost();
  for (const { sms } of buckets) {
    total.segments += sms.segments;
    total.estimated += sms.estimated;
    if (sms.reported !== null) total.reported = (total.reported ?? 0) + sms.reported;
    total.priced += sms.priced;
    total.currency ??= sms.currency;
  }
  total.estimated = roundMoney(total.estimated);
  if (total.reported !== null) total.reported = roundMoney(total.reported);
  return total;
}

/** Money as the database stores it (numeric(12,5)), so sums carry no floating-point noise. */
function roundMoney(n: number): number {
  return Math.round(n * 1e5) / 1e5;
}

export async function failureCodes(q: Queryable, w: StatsWindow, cover?: Cover): Promise<FailureCode[]> {
  const rows = await queryRows<{ channel: ChannelName; code: string | null; n: number }>(
    q,
    sql`select channel, code, sum(n)::int as n from (
          select d.channel, d.error_code as code, count(*) as n
          from ${uncovered('deliveries', w, cover)} d where d.status = 'failed' group by 1, 2
          union all
          select r.channel, r.error_code, r.n from ${covered('stats_delivery_slots', cover)} r where r.status = 'failed'
        ) x group by 1, 2 order by n desc, 1, 2`,
  );
  return rows.map((r) => {
    const info = r.code === null ? undefined : describeDeliveryError(r.channel, r.code);
    const known = info?.known === true;
    return {
      channel: r.channel,
      code: r.code,
      count: r.n,
      meaning: known ? info.meaning : null,
      fix: known ? info.fix : null,
      docs: known ? info.docs : null,
    };
  });
}

export async function typeCounts(q: Queryable, w: StatsWindow, cover?: Cover): Promise<TypeCounts[]> {
  return queryRows<TypeCounts>(
    q,
    // The two parts hold disjoint sets of notifications, so their distinct counts add up.
    sql`select type, sum(notifications)::int as notifications, sum(delivered)::int as delivered,
               sum(failed)::int as failed, sum(skipped)::int as skipped, sum(pending)::int as pending
        from (
          select n.type, count(distinct n.id) as notifications,
                 count(d.id) filter (where d.status = 'delivered') as delivered,
                 count(d.id) filter (where d.status = 'failed') as failed,
                 count(d.id) filter (where d.status = 'skipped') as skipped,
                 count(d.id) filter (where d.status in ('queued', 'sending')) as pending
          from ${uncovered('notifications', w, cover)} n left join deliveries d on d.notification_id = n.id
          group by n.type
          union all
          select r.type, r.notifications, r.delivered, r.failed, r.skipped, r.pending
          from ${covered('stats_type_slots', cover)} r
        ) x
        group by type order by notifications desc, type`,
  );
}

/** Now, not per window: what is waiting at this moment. */
export async function queueDepth(q: Queryable, now: Date): Promise<QueueDepth[]> {
  const at = now.toISOString();
  const rows = await queryRows<{
    channel: ChannelName;
    due: number;
    scheduled: number;
    sending: number;
    oldest_due_ms: number | null;
  }>(
    q,
    sql`select channel,
               count(*) filter (where status = 'queued' and due_at <= ${at}::timestamptz)::int as due,
               count(*) filter (where status = 'queued' and due_at > ${at}::timestamptz)::int as scheduled,
               count(*) filter (where status = 'sending')::int as sending,
               (extract(epoch from min(due_at) filter (where status = 'queued' and due_at <= ${at}::timestamptz))
                 * 1000)::float8 as oldest_due_ms
        -- Two arms, each exactly a partial index's predicate, so each reads that small index;
        -- "status in ('queued', 'sending')" matches neither and scans the whole table.
        from (select channel, status, coalesce(next_attempt_at, created_at) as due_at from deliveries
              where status = 'queued'
              union all
              select channel, status, coalesce(next_attempt_at, created_at) as due_at from deliveries
              where status = 'sending') d
        group by channel`,
  );
  const byChannel = new Map(rows.map((r) => [r.channel, r]));
  return CHANNELS.map((channel) => {
    const r = byChannel.get(channel);
    return {
      channel,
      due: r?.due ?? 0,
      scheduled: r?.scheduled ?? 0,
      sending: r?.sending ?? 0,
      oldest_due_age_ms: r?.oldest_due_ms == null ? null : Math.max(0, now.getTime() - r.oldest_due_ms),
    };
  });
}
