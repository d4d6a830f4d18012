import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { users } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { requireApiKey } from '../http/auth.ts';
import { userIdParam } from '../http/routes/users.ts';
import { LINK_PAGES, type LinkTokens } from './link-tokens.ts';

const linkBody = z
  .object({ page: z.enum(LINK_PAGES).default('preferences').describe('The page the link opens') })
  .strict()
  .optional();

/**
 * `POST /api/v1/users/{userId}/links`: the backend (API key) asks for a link to put in an email or
 * SMS; tapping it opens the user's own pages without a password (docs/end-user-pages.md).
 */
export function registerLinkRoute(
  app: FastifyInstance,
  o: { db: Db; links: LinkTokens; baseUrl: () => string },
): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/users/:userId/links',
    {
      schema: {
        tags: ['users'],
        summary: "A 15-minute signed link that opens the user's preference centre or inbox",
        params: userIdParam,
        body: linkBody,
      },
      onRequest: requireApiKey(o.db),
    },
    async (request, reply) => {
      const { userId } = request.params;
      const [row] = await o.db.select({ id: users.id }).from(users).where(eq(users.externalId, userId));
      if (!row) throw new AppError('USER_NOT_FOUND', `No user with id "${userId}"`);
      const page = request.body?.page ?? 'preferences';
      const { url, expiresAt } = await o.links.url(o.baseUrl(), userId, page);
      return reply.code(201).send({ url, page, expires_at: expiresAt.toISOString() });
    },
  );
}
