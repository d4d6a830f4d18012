/**
 * A campaign's audience a page at a time: its listed user ids in order, or the users its filter
 * matches (findUsers' keyset pages). The cursor is a number either way (the list's next index, or
 * the last user's internal id), saved with each stored page so an interrupted expansion resumes.
 */
import type { Queryable } from '../db/database.ts';
import { findUsers } from '../users/find-users.ts';
import type { CampaignSpec } from './campaign-spec.ts';

export interface AudiencePage {
  /** The users' external ids (the marketplace's ids, as the API names users). */
  userIds: string[];
  cursor: number;
  done: boolean;
}

export async function audiencePage(
  q: Queryable,
  audience: CampaignSpec['audience'],
  cursor: number | null,
  size: number,
): Promise<AudiencePage> {
  if ('user_ids' in audience) {
    const from = cursor ?? 0;
    const to = Math.min(from + size, audience.user_ids.length);
    return { userIds: audience.user_ids.slice(from, to), cursor: to, done: to >= audience.user_ids.length };
  }
  const page = await findUsers(q, audience.filter, { afterId: cursor ?? undefined, limit: size });
  return {
    userIds: page.users.map((u) => u.externalId),
    cursor: page.users.at(-1)?.id ?? cursor ?? 0,
    done: page.nextAfterId === undefined,
  };
}
