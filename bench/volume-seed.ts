/**
 * The volume generator behind `npm run bench:seed` (bench/seed-volume.ts) and `npm run bench:growth`
 * (bench/table-growth.ts): notifications, their deliveries and, optionally, the status history a
 * live service would have written for them, generated in SQL (generate_series, INSERT ... SELECT)
 * in batches, not sent row by row. See bench/seed-volume.ts for what the rows look like.
 *
 * It works on one pg.Client (one session): the seeded users are a temp table of that session.
 */
import type pg from 'pg';

export interface SeedRange {
  /** Tag of the public ids (`<tag>-<g>`); one tag per seeded volume, so appends never collide. */
  tag: string;
  /** Notifications g = first..last of `total` are written; g places each in time (below). */
  first: number;
  last: number;
  total: number;
  /** Users to pick from (the session's seed_users, k = 1..users). */
  users: number;
  /** Notification g is created at start + (g - 1 + jitter) / total × span: ids rise with time. */
  start: Date;
  spanSeconds: number;
  /** Rows created after this instant may still be live (30 %: queued, or sending). */
  liveAfter: Date;
  /** Also write each delivery's status history, as the service would have (see HISTORY). */
  history: boolean;
  /** Called after each batch with the notifications written so far in this call. */
  onBatch?: (written: number) => void;
  /** Asked between batches: true ends the range early (a bench told to stop growing). */
  stop?: () => boolean;
}

/** Rows per statement: big enough to amortise the round trip, small enough for a moving progress line. */
export const SEED_BATCH_NOTIFICATIONS = 50_000;

/**
 * The history rows the service writes for a delivery, one per step, in order (the timeline reads
 * them by id): its creation (queued, or skipped), the claim, for a failure the channel retried
 * twice its retries and later attempts, the outcome (an SMS Twilio took is `sent` with provider
 * status queued), then for such an SMS its status callbacks (sent, then delivered or
 * undelivered). About 3.5 rows per delivery: 1 for a skipped or queued one, 3 for an in-app
 * delivered, 5 for an SMS delivered, 7 for a send that failed three times.
 */
const HISTORY = `
insert into delivery_status_history (delivery_id, from_status, to_status, provider_status, error_code, detail, created_at)
select i.id, s.from_status, s.to_status, s.provider_status, s.error_code, s.detail, i.created_at + s.after_s * interval '1 second'
from ins i
cross join lateral (
  select (i.status = 'failed' and i.attempts = 3) as retried,
         (i.channel = 'sms' and i.provider_message_id is not null) as taken
) f
cross join lateral (values
  (0, null::text, case when i.status = 'skipped' then 'skipped' else 'queued' end, null::text, null::text,
   case when i.status = 'skipped' then 'skipped: ' || i.skip_reason end, true),
  (1, 'queued', 'sending', null, null, 'attempt 1', i.status not in ('queued', 'skipped')),
  (30, 'sending', 'queued', null, i.error_code, 'retry after ' || i.error_code, f.retried),
  (31, 'queued', 'sending', null, null, 'attempt 2', f.retried),
  (90, 'sending', 'queued', null, i.error_code, 'retry after ' || i.error_code, f.retried),
  (91, 'queued', 'sending', null, null, 'attempt 3', f.retried),
  (case when f.retried then 92 else 2 end, 'sending', case when f.taken then 'sent' else i.status end,
   case when f.taken then 'queued' end, case when i.status = 'failed' and not f.taken then i.error_code end,
   null, i.status in ('sent', 'delivered', 'failed')),
  (5, 'sent', 'sent', 'sent', null, 'status callback', f.taken),
  (9, 'sent', i.status, i.provider_status, case when i.status = 'failed' then i.error_code end, 'status callback',
   f.taken and i.status in ('delivered', 'failed'))
) s(after_s, from_status, to_status, provider_status, error_code, detail, keep)
where s.keep`;

/**
 * One batch: notifications g = $2..$3 of $4, then their deliveries, in one statement.
 * $1 tag, $5 users, $6 first instant, $7 span in seconds, $8 the instant after which rows may
 * still be live. Each random draw is a column of a subquery in FROM, so it is drawn once per row
 * (a volatile call elsewhere may be drawn once). With `history`, the deliveries' history rows too.
 */
const SEED_BATCH = (history: boolean) => `
with base as (
  select g, random() as r_user, random() as r_type, random() as r_time, random() as r_read
  from generate_series($2::int, $3::int) g
), types(i, type, category, priority, title) as (
  values (0, 'order_confirmed', 'order_updates', 'critical', 'Order confirmed'),
         (1, 'order_picked_up', 'order_updates', 'regular', 'Laundry picked up'),
         (2, 'order_ready', 'order_updates', 'regular', 'Order ready'),
         (3, 'order_out_for_delivery', 'order_updates', 'critical', 'Out for delivery'),
         (4, 'order_delivered', 'order_updates', 'critical', 'Order delivered'),
         (5, 'payment_completed', 'payments', 'critical', 'Payment successful'),
         (6, 'pickup_reminder', 'reminders', 'regular', 'Pickup reminder'),
         (7, 'order_cancelled', 'order_updates', 'critical', 'Order cancelled'),
         (8, 'payment_failed', 'payments', 'critical', 'Payment failed'),
         (9, 'promo_offer', 'promotions', 'low', 'This week''s offer')
), n as (
  insert into notifications (notification_id, user_id, type, category, priority, title, message, context, read_at, created_at)
  select $1 || '-' || b.g, u.id, t.type, t.category, t.priority, t.title,
         t.title || ' for order LC' || lpad(b.g::text, 8, '0'),
         jsonb_build_object('order', jsonb_build_object('order_number', 'LC' || lpad(b.g::text, 8, '0'))),
         case when b.r_read < 0.6 then x.at + interval '20 minutes' end, x.at
  from base b
  -- created_at rises with g (as ids rise with time live), with jitter inside its own slot.
  cross join lateral (select $6::timestamptz + ((b.g - 1 + b.r_time) / $4::int * $7::float8) * interval '1 second' as at) x
  -- A skewed pick (power > 1): a few users get many notifications, most get a few.
  join seed_users u on u.k = 1 + least($5::int - 1, floor($5::int * power(b.r_user, 1.7))::int)
  -- The first types are the common ones (order updates); the last few are rare.
  join types t on t.i = least(9, floor(10 * power(b.r_type, 1.4))::int)
  returning id, created_at
), picked as (
  select n.id, n.created_at, c.channel, c.p, random() as r_pick, random() as r, random() as r2, random() as r3,
         random() as r4
  from n cross join (values ('in_app', 0.95), ('sms', 0.65), ('email', 0.40), ('push', 0.20)) c(channel, p)
), s as (
  select p.*,
    case
      when p.created_at > $8::timestamptz and p.r < 0.3 then case when p.r2 < 0.2 then 'sending' else 'queued' end
      when p.channel = 'in_app' then case when p.r < 0.03 then 'skipped' else 'delivered' end
      when p.channel = 'sms' then case when p.r < 0.06 then 'skipped' when p.r < 0.11 then 'failed'
                                       when p.r < 0.14 then 'sent' else 'delivered' end
      when p.channel = 'email' then case when p.r < 0.05 then 'skipped' when p.r < 0.08 then 'failed' else 'sent' end
      else case when p.r < 0.25 then 'skipped' when p.r < 0.29 then 'failed' else 'sent' end
    end as status,
    1 + (p.r3 > 0.7)::int + (p.r3 > 0.95)::int as segments
  from picked p
  where p.r_pick < p.p
), e as (
  select s.*,
    case when s.status = 'skipped' then case s.channel
      when 'sms' then (array['disabled_by_user', 'quiet_hours', 'sms_daily_cap', 'no_phone', 'invalid_phone'])[1 + floor(s.r2 * 5)::int]
      when 'email' then (array['disabled_by_user', 'no_email', 'digested'])[1 + floor(s.r2 * 3)::int]
      when 'push' then (array['no_push_subscription', 'no_push_subscription', 'disabled_by_user'])[1 + floor(s.r2 * 3)::int]
      else 'disabled_by_user' end end as skip_reason,
    case when s.status = 'failed' then case s.channel
      when 'sms' then (array['30003', '30005', '30006', '30007', '30008', '21610', '21211', 'NOT_SENT', 'TIMEOUT'])[1 + floor(s.r2 * 9)::int]
      when 'email' then (array['EMAIL_BOUNCED', 'EMAIL_REJECTED', 'EMAIL_INVALID'])[1 + floor(s.r2 * 3)::int]
      when 'push' then (array['PUSH_SUBSCRIPTION_GONE', 'PUSH_SERVICE_ERROR'])[1 + floor(s.r2 * 2)::int]
      else 'CHANNEL_ERROR' end end as error_code
  from s
), h as (
  -- Handed to the provider: sent or delivered, and SMS that Twilio took and then failed (30xxx).
  select e.*, (e.status in ('sent', 'delivered') or (e.status = 'failed' and e.error_code like '300%')) as handed
  from e
), ins as (
  insert into deliveries (notification_id, channel, status, skip_reason, attempts, max_attempts, next_attempt_at,
  lease_owner, lease_expires_at, provider_message_id, provider_status, error_code, error_message,
  cost_amount, cost_currency, details, metadata, created_at, updated_at, sent_at, delivered_at, failed_at)
select h.id, h.channel, h.status, h.skip_reason,
  case when h.status in ('queued', 'skipped') then 0 when h.status = 'failed' and not h.handed then 3 else 1 end,
  3,
  case when h.status = 'queued' then h.created_at end,
  case when h.status = 'sending' then 'seed-worker' end,
  case when h.status = 'sending' then h.created_at + interval '30 seconds' end,
  case when h.handed and h.channel = 'sms' then 'SM' || md5(h.id::text || 'sms')
       when h.handed and h.channel = 'email' then '<' || md5(h.id::text || 'email') || '@mail.laundryconnect.example>' end,
  case when h.channel = 'sms' and h.handed then
    case h.status when 'delivered' then 'delivered' when 'sent' then 'sent' else 'undelivered' end end,
  h.error_code,
  case when h.error_code is not null then 'Seeded failure ' || h.error_code
       when h.skip_reason is not null then 'Seeded skip: ' || h.skip_reason end,
  case when h.channel = 'sms' and h.handed then h.segments * 0.0832 end,
  case when h.channel = 'sms' and h.handed then 'USD' end,
  case when h.channel = 'sms' and h.handed then
    jsonb_build_object('encoding', case when h.segments = 3 then 'UCS-2' else 'GSM-7' end,
                       'characters', 70 + h.segments * 60, 'segments', h.segments,
                       'dlt_template_id', null, 'dlt_entity_id', null, 'dlt_sender_id', null, 'outcome_unknown', false)
    -- Twilio reports the price minutes after the final status; most old messages have it.
    || case when h.status in ('delivered', 'failed') and h.r4 < 0.85
            then jsonb_build_object('price', '-' || to_char(h.segments * 0.0832, 'FM0.00000')) else '{}'::jsonb end
  end,
  case when h.channel = 'sms' and h.handed then
    jsonb_build_object('sms', jsonb_build_object('message_sid', 'SM' || md5(h.id::text || 'sms'),
      'status', case h.status when 'delivered' then 'delivered' when 'sent' then 'sent' else 'undelivered' end))
    else '{}'::jsonb end,
  h.created_at,
  h.created_at + interval '30 seconds',
  case when h.handed then h.created_at + interval '2 seconds' end,
  case when h.status = 'delivered' then h.created_at + interval '9 seconds' end,
  case when h.status = 'failed' then h.created_at + interval '25 seconds' end
from h
  returning id, channel, status, attempts, skip_reason, error_code, provider_message_id, provider_status, created_at
)
${history ? HISTORY : 'select count(*) from ins'}`;

/**
 * The seeded users, as a temp table of this session with k = 1..n, so a notification picks its user
 * with one random number and an equality join. Fresh ones (`<tag>-user-<i>`), or with `reuse` the
 * users an earlier seed wrote (an append keeps the same population). Returns how many there are.
 */
export async function prepareSeedUsers(
  client: pg.Client,
  opts: { tag: string; users: number; reuse: boolean },
): Promise<number> {
  const pattern = opts.reuse ? 'seed-%-user-%' : `${opts.tag}-user-%`;
  if (!opts.reuse) {
    await client.query(
      `insert into users (external_id, email, phone, first_name, locale, time_zone)
       select $1 || '-user-' || i, $1 || '-user-' || i || '@example.com',
              '+9198' || lpad(i::text, 8, '0'), 'Priya', case when i % 5 = 0 then 'hi' else 'en' end, 'Asia/Kolkata'
       from generate_series(1, $2::int) i`,
      [opts.tag, opts.users],
    );
  }
  await client.query('drop table if exists pg_temp.seed_users');
  await client.query(
    `create temp table seed_users as
     select row_number() over (order by id)::int as k, id from users where external_id like $1`,
    [pattern],
  );
  await client.query('create unique index on seed_users (k)');
  const { rows } = await client.query<{ n: number }>('select count(*)::int as n from seed_users');
  const n = rows[0]?.n ?? 0;
  if (n === 0) throw new Error('no seeded users to append to: seed once without --append first');
  return n;
}

/**
 * Writes notifications first..last (see SeedRange) and their deliveries, in batches. Returns the
 * last g written (first - 1 when stopped before the first batch).
 */
export async function seedRange(client: pg.Client, r: SeedRange): Promise<number> {
  const statement = SEED_BATCH(r.history);
  let written = r.first - 1;
  for (let from = r.first; from <= r.last && !r.stop?.(); from += SEED_BATCH_NOTIFICATIONS) {
    const to = Math.min(r.last, from + SEED_BATCH_NOTIFICATIONS - 1);
    await client.query(statement, [r.tag, from, to, r.total, r.users, r.start, r.spanSeconds, r.liveAfter]);
    written = to;
    r.onBatch?.(to - r.first + 1);
  }
  return written;
}

/** A progress line on stderr: redrawn on a terminal, one line per batch otherwise (logs). */
export function seedProgress(label: string, fraction: number, started: number): void {
  const width = 24;
  const bar = `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '-')}]`;
  const line = `${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${label} ${((Date.now() - started) / 1000).toFixed(0)} s`;
  process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
}
