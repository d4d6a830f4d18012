/**
 * Throwaway databases for a run: a fresh PGlite data directory or a fresh PostgreSQL database
 * (created on the bench's server, dropped at the end), migrated with the service's own migrations
 * and seeded with users opted in to the benchmarked channels — in one opening, because starting
 * PGlite costs seconds on a busy machine.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { type Database, openDatabase, queryRows } from '../src/db/database.ts';
import { runMigrations } from '../src/db/migrate.ts';
import { createLogger } from '../src/logger.ts';
import type { BenchChannel, Engine } from './options.ts';

export interface BenchDatabase {
  engine: Engine;
  /** Environment that points a CLI process at this database. */
  env: Record<string, string>;
  /** Data directory (PGlite) or connection string (PostgreSQL). */
  target: string;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function adminQuery(serverUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export interface Seed {
  users: number;
  channels: BenchChannel[];
}

export async function createBenchDatabase(
  engine: Engine,
  postgresUrl: string,
  seed?: Seed,
): Promise<BenchDatabase> {
  const logger = createLogger('silent');
  if (engine === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'lcn-bench-'));
    const db: BenchDatabase = {
      engine,
      env: { DATA_DIR: dir, DATABASE_URL: '' },
      target: dir,
      open: () => openDatabase({ dataDir: dir, logger }),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
    await prepare(db, seed);
    return db;
  }
  // A generated name of hex digits only: nothing from outside is pasted into the statement.
  const name = `lcn_bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(postgresUrl, `create database ${name}`);
  const u = new URL(postgresUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db: BenchDatabase = {
    engine,
    env: { DATABASE_URL: url },
    target: url,
    open: () => openDatabase({ databaseUrl: url, dataDir: 'unused', logger }),
    drop: () => adminQuery(postgresUrl, `drop database if exists ${name} with (force)`),
  };
  await prepare(db, seed);
  return db;
}

async function prepare(db: BenchDatabase, seed: Seed | undefined): Promise<void> {
  const database = await db.open();
  try {
    await runMigrations(database);
    if (seed) await seedUsers(database, seed);
  } finally {
    await database.close();
  }
}

/** `bench-user-1…n`, each with its own valid Indian mobile number, opted in to exactly `channels`. */
async function seedUsers(database: Database, { users, channels }: Seed): Promise<void> {
  const withEmail = channels.includes('email');
  await queryRows(
    database.db,
    sql`insert into users (external_id, email, phone, first_name, locale)
          select 'bench-user-' || i,
                 case when ${withEmail} then 'bench-user-' || i || '@example.com' end,
                 '+9198765' || lpad(i::text, 5, '0'), 'Priya', 'en'
          from generate_series(1, ${users}::int) as i`,
  );
  await queryRows(
    database.db,
    sql`insert into notification_preferences (user_id, category, channel, enabled)
          select u.id, 'order_updates', c.channel, c.channel = any(string_to_array(${channels.join(',')}, ','))
          from users u cross join unnest(array['sms', 'in_app', 'email', 'push']) as c(channel)
          where u.external_id like 'bench-user-%'`,
  );
}
