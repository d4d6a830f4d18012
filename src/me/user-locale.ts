import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { users } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { LOCALES } from '../templates/template-files.ts';

/**
 * The language a user's messages are written in: `users.locale`, the field the users API
 * (PUT /api/v1/users/{id}) sets. The page offers the languages the templates have.
 */
export async function getLocale(db: Db, userId: string): Promise<string> {
  const [row] = await db.select({ locale: users.locale }).from(users).where(eq(users.externalId, userId));
  if (!row) throw new AppError('USER_NOT_FOUND', `No user with id "${userId}"`);
  return row.locale;
}

/** A language from the form, or the field error the page shows beside the select. */
export function parseLocale(value: unknown): string {
  if (typeof value === 'string' && (LOCALES as readonly string[]).includes(value)) return value;
  const message = `must be one of: ${LOCALES.join(', ')}`;
  throw new AppError('VALIDATION_FAILED', `locale: ${message}`, { errors: [{ field: 'locale', message }] });
}

/**
 * Changes the language only when it differs: a regional tag the marketplace set (hi-IN) stays
 * when the user saves the page with its language (hi) unchanged.
 */
export async function setLocale(db: Db, userId: string, language: string): Promise<void> {
  const current = await getLocale(db, userId);
  if (current.split('-')[0] === language) return;
  await db.update(users).set({ locale: language, updatedAt: sql`now()` }).where(eq(users.externalId, userId));
}
