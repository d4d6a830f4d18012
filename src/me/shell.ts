import type { FastifyReply } from 'fastify';
import type { Db } from '../db/database.ts';
import { countUnread, findInboxUser } from '../inbox/inbox-store.ts';
import type { MePageId, MeShell } from './layout.ts';

export type PageShellOf = (
  reply: FastifyReply,
  userId: string,
  current: MePageId,
) => Promise<NonNullable<MeShell['signedIn']>>;

/** What every signed-in page's frame shows: the menu's unread badge and the sign-out form's token. */
export function unreadShell(db: Db): PageShellOf {
  return async (reply, userId, current) => ({
    current,
    unread: await countUnread(db, await findInboxUser(db, userId)),
    csrfToken: reply.generateCsrf(),
  });
}
