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
 * the estimated cost and (mostly) Twilio's reported price. With --history, each delivery's status
 * history as the service would have written it (~3.5 rows a delivery; neither the overview nor the
 * activity list reads them, the notification timeline does). The generator is bench/volume-seed.ts.
 *
 * Usage: DATABASE_URL=postgresql://... npm run bench:seed -- [--notifications N] [--users N]
 *        [--days N] [--history] [--append] [--force]
 * Refuses without DATABASE_URL, and refuses a database that already holds data unless --append (add
 * to a volume bench:seed wrote, with its users) or --force (add to any database, with new users).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openDatabase } from '../src/db/database.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';
import { prepareSeedUsers, seedProgress, seedRange } from './volume-seed.ts';

const { values } = parseArgs({
  options: {
    notifications: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '10000' },
    days: { type: 'string', default: '30' },
    history: { type: 'boolean', default: false },
    append: { type: 'boolean', default: false },
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
  if (existing && (existing.users > 0 || existing.notifications > 0) && !values.force && !values.append) {
    refuse(`the database already has ${existing.users} users and notifications`);
  }

  const started = Date.now();
  const tag = `seed-${randomBytes(4).toString('hex')}`;
  const users = await prepareSeedUsers(client, { tag, users: userCount, reuse: values.append });
  const end = Date.now();
  const start = end - days * 86_400_000;
  await seedRange(client, {
    tag,
    first: 1,
    last: total,
    total,
    users,
    start: new Date(start),
    spanSeconds: (end - start) / 1000,
    // As live: what arrived in the last minutes may still be waiting or sending.
    liveAfter: new Date(end - 10 * 60_000),
    history: values.history,
    onBatch: (n) =>
      seedProgress(
        `notifications ${n.toLocaleString('en')}/${total.toLocaleString('en')}`,
        n / total,
        started,
      ),
  });
  process.stderr.write('\n');
  // A live table is vacuumed and analysed by autovacuum as it grows; a table filled in one go is
  // not yet, and without the visibility map and statistics the planner's choices (index-only
  // scans, join orders) would be those of no production database.
  process.stderr.write('vacuum analyze...\n');
  for (const table of ['users', 'notifications', 'deliveries', 'delivery_status_history'])
    await client.query(`vacuum analyze ${table}`);
  const [counts] = (
    await client.query<{ notifications: number; deliveries: number }>(
      `select (select count(*) from notifications)::int as notifications,
              (select count(*) from deliveries)::int as deliveries`,
    )
  ).rows;
  process.stderr.write(
    `Seeded ${total.toLocaleString('en')} notifications for ${users.toLocaleString('en')} users in ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s; the database now holds ` +
      `${counts?.notifications.toLocaleString('en')} notifications and ${counts?.deliveries.toLocaleString('en')} deliveries.\n`,
  );
} finally {
  await client.end();
}

function refuse(why: string): never {
  console.error(
    `bench:seed refuses: ${why}. Use a database of its own, --append to add to a seeded one, or --force.`,
  );
  process.exit(2);
}
