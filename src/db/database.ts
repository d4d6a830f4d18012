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
  /** Embedded on disk: the directory it writes to (its free space is part of readiness). */
  readonly dataDir?: string | undefined;
  /** Subscribe to a NOTIFY channel; `onReconnect` fires after a lost listener connection is back. */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onReconnect?: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
  /** PostgreSQL only: the pool's connections now (the metrics' database pool gauges). */
  poolStats?(): PoolStats;
}

/** node-postgres's own counts: open connections, the idle among them, and callers waiting for one. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface OpenOptions {
  databaseUrl?: string | undefined;
  /** Embedded only: the data directory; `memory://` for a throwaway in-memory database. */
  dataDir: string;
  /** PostgreSQL pool size (10); at least 2: migrations and retention hold one connection for a lock. */
  poolSize?: number;
  /** PostgreSQL only: bounds that keep a stalled or cut database from wedging the service. */
  timeouts?: Partial<PgTimeouts>;
  logger: Logger;
}

/**
 * Every wait on PostgreSQL is bounded: a server that accepts TCP and never answers would otherwise
 * hold every pool slot (and /readyz) forever. A query that hits a bound fails, its connection is
 * discarded, and the next one is opened afresh, so the service recovers once the server answers.
 */
export interface PgTimeouts {
  /** Opening a connection, and waiting for a free pool slot. */
  connectMs: number;
  /** One statement: server-side statement_timeout and the client-side query_timeout. */
  statementMs: number;
  /** A transaction left open without a statement (its holder hung) is ended by the server. */
  idleInTransactionMs: number;
}

export const DEFAULT_PG_TIMEOUTS: PgTimeouts = {
  connectMs: 5_000,
  statementMs: 30_000,
  idleInTransactionMs: 60_000,
};

/** Client settings shared by the pool and the LISTEN connection. */
export function pgClientConfig(url: string, t: Partial<PgTimeouts> = {}): pg.ClientConfig {
  const { connectMs, statementMs, idleInTransactionMs } = { ...DEFAULT_PG_TIMEOUTS, ...t };
  return {
    connectionString: url,
    connectionTimeoutMillis: connectMs,
    statement_timeout: statementMs,
    // The client-side bound catches a server that stopped answering (statement_timeout cannot);
    // a little later than the server's, so a live server reports its own timeout first.
    query_timeout: statementMs + 1_000,
    idle_in_transaction_session_timeout: idleInTransactionMs,
    // Detects a peer that vanished without a FIN (a dead host, a dropped NAT entry).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
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
    return wrapPglite(client, () => lock?.release(), inMemory ? undefined : opts.dataDir);
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/** A Database over an already open PGlite (also used to restore a snapshot taken with dumpDataDir). */
export function wrapPglite(client: PGlite, onClose?: () => void, dataDir?: string): Database {
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    engine: 'pglite',
    db,
    dataDir,
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
  const max = opts.poolSize ?? 10;
  const pool = new pg.Pool({ ...pgClientConfig(url, opts.timeouts), max });
  const lost = (err: Error) => opts.logger.warn({ err }, 'database connection lost; the pool will reconnect');
  // The pool emits 'error' only for idle clients; a checked-out client (a transaction) emits it on
  // itself, and an 'error' with no listener kills the process. The query under way still fails
  // (a 503) and the pool discards the client when it is released.
  pool.on('error', lost);
  pool.on('connect', (client) => client.on('error', lost));
  const listener = new PgListener(pgClientConfig(url, opts.timeouts), opts.logger);
  const db = drizzlePg(pool, { schema }) as unknown as Db;
  return {
    engine: 'postgres',
    db,
    listen: (channel, onPayload, onReconnect) => listener.listen(channel, onPayload, onReconnect),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    async close() {
      await endWithin(listener.close(), 'the LISTEN connection', opts.logger);
      await endWithin(pool.end(), 'the database pool', opts.logger);
    },
  };
}

/** How long closing may wait for the database's connections to end. */
const END_TIMEOUT_MS = 5_000;

/**
 * node-postgres can leave a close waiting for good after the server stalled: `pool.end()` waits
 * for a client whose connection attempt connectionTimeoutMillis cut (issues #2243, #3543), and a
 * client's `end()` after a failed connect waits for an `end` event that already fired (#2777).
 * Their sockets are gone by then, so after a bound the close goes on, and says so.
 */
async function endWithin(ending: Promise<unknown>, what: string, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    ending.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), END_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (!ended)
    logger.warn({ waitMs: END_TIMEOUT_MS }, `${what} did not end in time after a stall; closing anyway`);
}

/** Run raw SQL and return its rows on either engine (their result objects differ only in type). */
export async function queryRows<T>(q: Queryable, statement: SQL): Promise<T[]> {
  const result = (await q.execute(statement)) as unknown as { rows: T[] };
  return result.rows;
}
