import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { users } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { LOCALES } from '../templates/template-files.ts';

export interface Profile {
  /** The language the user's messages are written in: `users.locale`, as PUT /api/v1/users/{id} sets it. */
  locale: string;
  /** customer, partner or admin: which notifications the user can get at all. */
  role: string;
  /** Without a phone number no SMS can reach the user, whatever the boxes say. */
  hasPhone: boolean;
}

/** What the preference centre shows of the user beside their preferences. */
export async function getProfile(db: Db, userId: string): Promise<Profile> {
  const [row] = await db
    .select({ locale: users.locale, role: users.role, phone: users.phone })
    .from(users)
    .where(eq(users.externalId, userId));
  if (!row) throw new AppError('USER_NOT_FOUND', `No user with id "${userId}"`);
  return { locale: row.locale, role: row.role, hasPhone: Boolean(row.phone) };
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
  const { locale } = await getProfile(db, userId);
  if (locale.split('-')[0] === language) return;
  await db.update(users).set({ locale: language, updatedAt: sql`now()` }).where(eq(users.externalId, userId));
}
