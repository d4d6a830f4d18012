import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UserTokens } from '../../auth/user-tokens.ts';
import type { Db } from '../../db/database.ts';
import { countUnread, findInboxUser, listInbox, markAllRead, markRead } from '../../inbox/inbox-store.ts';
import { text } from '../../text.ts';
import { requireUserOrApiKey, targetUserId } from '../auth.ts';

export const userQuery = z.object({
  user_id: text()
    .min(1)
    .max(128)
    .optional()
    .describe('With an API key: whose inbox. With a user token: omit it (or name yourself)'),
});

const listQuery = userQuery.extend({
  cursor: text().min(1).max(64).optional().describe('next_cursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  unread: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .describe('true: unread notifications only'),
});

/**
 * The user's in-app inbox (docs/inbox.md). An end user calls with their own token and sees only
 * their own notifications (another user's is a 404); the backend calls with its API key and names
 * the user.
 */
export function registerInboxRoutes(app: FastifyInstance, db: Db, tokens: UserTokens): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireUserOrApiKey(db, tokens);
  const tags = ['inbox'];
  const user = async (request: Parameters<typeof targetUserId>[0], named: string | undefined) =>
    findInboxUser(db, targetUserId(request, named));

  r.get(
    '/api/v1/inbox',
    {
      schema: { tags, summary: 'List inbox notifications, newest first', querystring: listQuery },
      onRequest: auth,
    },
    async (request) => {
      const q = request.query;
      return listInbox(db, await user(request, q.user_id), {
        cursor: q.cursor,
        limit: q.limit,
        unreadOnly: q.unread,
      });
    },
  );

  r.get(
    '/api/v1/inbox/unread-count',
    {
      schema: { tags, summary: 'Number of unread inbox notifications', querystring: userQuery },
      onRequest: auth,
    },
    async (request) => ({ unread_count: await countUnread(db, await user(request, request.query.user_id)) }),
  );

  r.post(
    '/api/v1/inbox/:notificationId/read',
    {
      schema: {
        tags,
        summary: 'Mark one notification read (idempotent)',
        params: z.object({ notificationId: text().min(1).max(64) }),
        querystring: userQuery,
      },
      onRequest: auth,
    },
    async (request) =>
      markRead(db, await user(request, request.query.user_id), request.params.notificationId),
  );

  r.post(
    '/api/v1/inbox/read-all',
    {
      schema: { tags, summary: 'Mark every inbox notification read', querystring: userQuery },
      onRequest: auth,
    },
    async (request) => markAllRead(db, await user(request, request.query.user_id)),
  );
}
