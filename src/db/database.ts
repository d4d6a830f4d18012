import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { PgListener } from './pg-listener.ts';
import * as schema from './schema.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle has the same query API as the database. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Queryable = Db | Tx;

/**
 * One SQL dialect, two engines: PGlite in-process when DATABASE_URL is unset, PostgreSQL through
 * `pg` when it is set. Everything above this file sees the same Drizzle API; only LISTEN differs.
 */
export interface Database {
  readonly engine: 'pglite' | 'postgres';
  readonly db: Db;
  /** Subscribe to a NOTIFY channel; `onReconnect` fires after a lost listener connection is back. */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onReconnect?: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string | undefined;
  /** Embedded only: the data directory; `memory://` for a throwaway in-memory database. */
  dataDir: string;
  poolSize?: number;
  logger: Logger;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl, opts) : openPglite(opts);
}

async function openPglite(opts: OpenOptions): Promise<Database> {
  const inMemory = opts.dataDir === 'memory://';
  const lock = inMemory ? undefined : await lockDataDir(opts.dataDir);
  try {
    const client = inMemory ? new PGlite() : new PGlite(join(opts.dataDir, 'pglite'));
    await client.waitReady;
    return wrapPglite(client, () => lock?.release());
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/** A Database over an already open PGlite (also used to restore a snapshot taken with dumpDataDir). */
export function wrapPglite(client: PGlite, onClose?: () => void): Database {
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    engine: 'pglite',
    db,
    async listen(channel, onPayload) {
      const unlisten = await client.listen(channel, onPayload);
      return () => unlisten();
    },
    async close() {
      try {
        await client.close();
      } finally {
        onClose?.();
      }
    },
  };
}

async function openPostgres(url: string, opts: OpenOptions): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
  // Idle clients die when PostgreSQL restarts; without a handler that would crash the process.
  pool.on('error', (err) =>
    opts.logger.warn({ err: err.message }, 'database connection lost; the pool will reconnect'),
  );
  const listener = new PgListener(url, opts.logger);
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  return {
    engine: 'postgres',
    db,
    listen: (channel, onPayload, onReconnect) => listener.listen(channel, onPayload, onReconnect),
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

/** Run raw SQL and return its rows on either engine (their result objects differ only in type). */
export async function queryRows<T>(q: Queryable, statement: SQL): Promise<T[]> {
  const result = (await q.execute(statement)) as unknown as { rows: T[] };
  return result.rows;
}
