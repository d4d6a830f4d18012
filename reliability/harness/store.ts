/** A fresh database seeded with SMS-opted-in users: what was created, and what is still unsettled. */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { type Database, openDatabase, queryRows } from '../../src/db/database.ts';
import { createLogger } from '../../src/logger.ts';
import { runToExit } from '../../test/process/cli.ts';
import { PG_ADMIN_URL } from './settings.ts';

const silent = createLogger('silent');
export const phoneOf = (i: number) => `+9198765${String(i).padStart(5, '0')}`;
export const orderOf = (i: number) => `R${i}`;

export interface Store {
  engine: 'postgres' | 'pglite';
  /** Env that points a service process at this store. */
  env: Record<string, string>;
  /** A PostgreSQL connection string (undefined on PGlite). */
  url: string | undefined;
  open(): Promise<Database>;
  drop(): Promise<void>;
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function createStore(engine: 'postgres' | 'pglite', dataDir?: string): Promise<Store> {
  if (engine === 'pglite') {
    const dir = dataDir!;
    const migrated = await runToExit(['migrate'], { DATA_DIR: dir }, 120_000);
    if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
    return {
      engine,
      env: { DATA_DIR: dir },
      url: undefined,
      open: () => openDatabase({ dataDir: dir, logger: silent }),
      drop: async () => {},
    };
  }
  const name = `lcn_rel_${randomBytes(5).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const migrated = await runToExit(['migrate'], { DATABASE_URL: url }, 120_000);
  if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  return {
    engine,
    env: { DATABASE_URL: url },
    url,
    open: () => openDatabase({ databaseUrl: url, dataDir: 'unused', logger: silent }),
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

/** `count` users `rel-<i>`, each with phone phoneOf(i), opted in to order SMS; no email (less noise). */
export async function seedUsers(store: Store, count: number): Promise<void> {
  const database = await store.open();
  try {
    await database.db.execute(sql`
      insert into users (external_id, phone, first_name)
      select 'rel-' || g, '+9198765' || lpad(g::text, 5, '0'), 'Asha' from generate_series(0, ${count - 1}) g`);
    await database.db.execute(sql`
      insert into notification_preferences (user_id, category, channel, enabled)
      select id, 'order_updates', 'sms', true from users where external_id like 'rel-%'`);
  } finally {
    await database.close();
  }
}

/** Count of SMS deliveries not yet settled (queued or sending); PostgreSQL stores only (PGlite is locked). */
export async function unsettled(store: Store): Promise<number> {
  const database = await store.open();
  try {
    const [r] = await queryRows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from deliveries where channel = 'sms' and status in ('queued', 'sending')`,
    );
    return r!.n;
  } finally {
    await database.close();
  }
}
