/**
 * Seeds a PostgreSQL database with N notifications (default 1,000,000) and their deliveries, for
 * the volume bench of the stats overview and the activity list (bench/stats-volume.ts,
 * docs/performance.md). Rows are generated in SQL (generate_series, INSERT ... SELECT) in batches,
 * not sent row by row, so a million takes minutes, not hours.
 *
 * What it writes, roughly as production would look after 30 days: ~10,000 users (a few heavy
 * ones), notifications of the catalogue's types spread evenly over the last 30 days (ids rise with
 * created_at, as they do live), and per notification an in-app delivery (95 %), SMS (65 %), email
 * (40 %) and push (20 %): delivered / sent / failed with the catalogue's error codes / skipped with
 * their reasons, a few queued or sending in the last minutes; SMS with Twilio-like SIDs, segments,
 * the estimated cost and (mostly) Twilio's reported price. No status history rows: neither the
 * overview nor the activity list reads them.
 *
 * Usage: DATABASE_URL=postgresql://... npm run bench:seed -- [--notifications N] [--users N] [--force]
 * Refuses without DATABASE_URL, and refuses a database that already holds data unless --force.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openDatabase } from '../src/db/database.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';

const { values } = parseArgs({
  options: {
    notifications: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '10000' },
    days: { type: 'string', default: '30' },
    force: { type: 'boolean', default: false },
  },
});
const total = Number(values.notifications);
const userCount = Number(values.users);
const days = Number(values.days);
for (const [name, n] of [
  ['--notifications', total],
  ['--users', userCount],
  ['--days', days],
] as const) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
}
const url = process.env['DATABASE_URL'];
if (!url) {
  console.error('bench:seed writes to PostgreSQL only: set DATABASE_URL to a database of its own.');
  process.exit(2);
}

/** Rows per statement: big enough to amortise the round trip, small enough for a moving progress line. */
const BATCH = 50_000;

/**
 * One batch: notifications g = $2..$3 of $4, then their deliveries, in one statement.
 * $1 tag, $5 users, $6 first instant, $7 span in seconds. Each random draw is a column of a
 * subquery in FROM, so it is drawn once per row (a volatile call elsewhere may be drawn once).
 */
const SEED_BATCH = `
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
      when p.created_at > now() - interval '10 minutes' and p.r < 0.3 then case when p.r2 < 0.2 then 'sending' else 'queued' end
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
)
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
from h`;

const client = new pg.Client({ connectionString: url });
await client.connect();
try {
  // A database with tables but no migrations table is someone else's: migrating would write into it.
  // The maintenance database is everyone's, empty or not.
  const [foreign] = (
    await client.query<{ name: string; tables: number; ours: boolean }>(
      `select current_database() as name, count(*)::int as tables,
              to_regclass('drizzle.__drizzle_migrations') is not null as ours
       from pg_tables where schemaname = 'public'`,
    )
  ).rows;
  if (foreign && !values.force) {
    if (foreign.name === 'postgres') refuse('"postgres" is the server\'s maintenance database');
    if (foreign.tables > 0 && !foreign.ours) {
      refuse(`the database has ${foreign.tables} tables and none of this service's migrations`);
    }
  }
  // The way `laundryconnect-notify migrate` does it (src/cli/commands/migrate.ts).
  const database = await openDatabase({
    databaseUrl: url,
    dataDir: 'unused',
    logger: createLogger('silent'),
  });
  try {
    const { applied, total: all } = await runMigrations(database);
    process.stderr.write(`Migrations: ${applied} applied, ${all} in total\n`);
  } finally {
    await database.close();
  }
  const [existing] = (
    await client.query<{ users: number; notifications: number }>(
      `select (select count(*) from users)::int as users,
              (select count(*) from (select 1 from notifications limit 1) x)::int as notifications`,
    )
  ).rows;
  if (existing && (existing.users > 0 || existing.notifications > 0) && !values.force) {
    refuse(`the database already has ${existing.users} users and notifications`);
  }

  const started = Date.now();
  const tag = `seed-${randomBytes(4).toString('hex')}`;
  await client.query(
    `insert into users (external_id, email, phone, first_name, locale, time_zone)
     select $1 || '-user-' || i, $1 || '-user-' || i || '@example.com',
            '+9198' || lpad(i::text, 8, '0'), 'Priya', case when i % 5 = 0 then 'hi' else 'en' end, 'Asia/Kolkata'
     from generate_series(1, $2::int) i`,
    [tag, userCount],
  );
  // k = 1..users, so a notification picks its user with one random number and an equality join.
  await client.query(
    `create temp table seed_users as
     select row_number() over (order by id)::int as k, id from users where external_id like $1 || '-user-%'`,
    [tag],
  );
  await client.query('create unique index on seed_users (k)');

  const end = Date.now();
  const start = end - days * 86_400_000;
  for (let from = 1; from <= total; from += BATCH) {
    const to = Math.min(total, from + BATCH - 1);
    await client.query(SEED_BATCH, [tag, from, to, total, userCount, new Date(start), (end - start) / 1000]);
    progress(`notifications ${to.toLocaleString('en')}/${total.toLocaleString('en')}`, to / total, started);
  }
  process.stderr.write('\n');
  // A live table is vacuumed and analysed by autovacuum as it grows; a table filled in one go is
  // not yet, and without the visibility map and statistics the planner's choices (index-only
  // scans, join orders) would be those of no production database.
  process.stderr.write('vacuum analyze...\n');
  for (const table of ['users', 'notifications', 'deliveries']) await client.query(`vacuum analyze ${table}`);
  const [counts] = (
    await client.query<{ notifications: number; deliveries: number }>(
      `select (select count(*) from notifications)::int as notifications,
              (select count(*) from deliveries)::int as deliveries`,
    )
  ).rows;
  process.stderr.write(
    `Seeded ${total.toLocaleString('en')} notifications for ${userCount.toLocaleString('en')} users in ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s; the database now holds ` +
      `${counts?.notifications.toLocaleString('en')} notifications and ${counts?.deliveries.toLocaleString('en')} deliveries.\n`,
  );
} finally {
  await client.end();
}

function refuse(why: string): never {
  console.error(`bench:seed refuses: ${why}. Use a database of its own, or --force to add to this one.`);
  process.exit(2);
}

function progress(label: string, fraction: number, started: number): void {
  const width = 24;
  const bar = `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '-')}]`;
  const line = `${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${label} ${((Date.now() - started) / 1000).toFixed(0)} s`;
  process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
}
