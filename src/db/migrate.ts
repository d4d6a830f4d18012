import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { withSessionAdvisoryLock } from './advisory-lock.ts';
import { type Database, queryRows } from './database.ts';

const migrationsFolder = join(import.meta.dirname, 'migrations');

/** The session advisory lock nodes migrating one PostgreSQL database take in turn. */
export const MIGRATION_LOCK = 1279459330;

/**
 * Apply pending migrations (idempotent). Drizzle's migrator takes no lock: it reads the last
 * migration applied, then applies the newer ones in one transaction, so two nodes starting together
 * on a database that lacks a migration both tried it and one start failed. On PostgreSQL they now
 * take turns on an advisory lock, and the second finds nothing left to apply. PGlite is one process.
 */
export async function runMigrations(database: Database): Promise<{ applied: number; total: number }> {
  const migrate = async () => {
    const before = await appliedCount(database);
    if (database.engine === 'pglite') {
      await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder });
    } else {
      await migrateNodePg(database.db as unknown as NodePgDatabase, { migrationsFolder });
    }
    const total = readMigrationFiles({ migrationsFolder }).length;
    return { applied: total - before, total };
  };
  if (database.engine === 'pglite') return migrate();
  const ran = await withSessionAdvisoryLock(database, MIGRATION_LOCK, migrate, { wait: true });
  // A waiting lock is always acquired (or its wait throws).
  if (!ran.acquired) throw new Error('the migration lock was not acquired');
  return ran.value;
}

/** For /readyz: every migration in the repo has been applied to this database. */
export async function migrationsCurrent(database: Database): Promise<boolean> {
  return (await appliedCount(database)) >= readMigrationFiles({ migrationsFolder }).length;
}

async function appliedCount(database: Database): Promise<number> {
  const [exists] = await queryRows<{ t: string | null }>(
    database.db,
    sql`select to_regclass('drizzle.__drizzle_migrations')::text as t`,
  );
  if (!exists?.t) return 0;
  const [row] = await queryRows<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  return row?.n ?? 0;
}
