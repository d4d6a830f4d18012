/**
 * Which users match a filter, a page at a time: the query the users list answers and a campaign's
 * audience walks (issue 19). Pages are keyset pages on the internal id, so a walk over 100,000
 * users costs the same per page at the end as at the start, and a user added during the walk is
 * either met once or not at all, never twice.
 */
import { and, asc, gt, type SQL, sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { users } from '../db/schema.ts';
import type { Attributes } from './user-attributes.ts';

export type UserRow = typeof users.$inferSelect;

export interface UserFilter {
  /** Users whose attributes contain every pair (`@>`, users_attributes_idx); empty or absent: all. */
  attributes?: Attributes | undefined;
}

export interface UserPage {
  users: UserRow[];
  /** The internal id to continue after, or undefined on the last page. */
  nextAfterId: number | undefined;
}

/** The filter as a WHERE condition (undefined: every user), for queries that join or count. */
export function userFilterCondition(filter: UserFilter): SQL | undefined {
  const attrs = filter.attributes;
  if (!attrs || Object.keys(attrs).length === 0) return undefined;
  // One @> with every pair: a single GIN probe whose entries the index intersects itself.
  return sql`${users.attributes} @> ${JSON.stringify(attrs)}::jsonb`;
}

export async function findUsers(
  db: Queryable,
  filter: UserFilter,
  page: { afterId?: number | undefined; limit: number },
): Promise<UserPage> {
  const condition = and(
    userFilterCondition(filter),
    page.afterId === undefined ? undefined : gt(users.id, page.afterId),
  );
  const rows = await db
    .select()
    .from(users)
    .where(condition)
    .orderBy(asc(users.id))
    .limit(page.limit + 1);
  const shown = rows.slice(0, page.limit);
  return { users: shown, nextAfterId: rows.length > page.limit ? shown.at(-1)!.id : undefined };
}
