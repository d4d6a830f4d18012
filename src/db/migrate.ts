import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { type Database, queryRows } from './database.ts';

const migrationsFolder = join(import.meta.dirname, 'migrations');

/** Apply pending migrations (idempotent). Drizzle takes an advisory lock on PostgreSQL. */
export async function runMigrations(database: Database): Promise<{ applied: number; total: number }> {
  const before = await appliedCount(database);
  if (database.engine === 'pglite') {
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder });
  } else {
    await migrateNodePg(database.db as unknown as NodePgDatabase, { migrationsFolder });
  }
  const total = readMigrationFiles({ migrationsFolder }).length;
  return { applied: total - before, total };
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
