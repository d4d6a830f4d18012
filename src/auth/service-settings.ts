import { eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { serviceSettings } from '../db/schema.ts';

/**
 * A value the service generates once and keeps (in the database, so every process of a PostgreSQL
 * deployment shares it): first caller's value wins, later callers read it.
 */
export async function getOrCreateSetting(db: Db, key: string, generate: () => string): Promise<string> {
  await db.insert(serviceSettings).values({ key, value: generate() }).onConflictDoNothing();
  const [row] = await db.select().from(serviceSettings).where(eq(serviceSettings.key, key));
  return row!.value;
}
