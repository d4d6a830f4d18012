import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { API_KEY_ROLES, createApiKey } from '../../auth/api-keys.ts';
import type { Queryable } from '../../db/database.ts';
import { text } from '../../text.ts';
import { requireApiKey } from '../auth.ts';

const createBody = z
  .object({
    name: text().min(1).max(100).describe('Who or what the key is for, e.g. "ops dashboard"'),
    role: z.enum(API_KEY_ROLES).describe('service (the backend), admin (everything) or viewer (read only)'),
  })
  .strict();

/** Admins hand out keys; the key is in this answer only (the database keeps its hash). */
export function registerApiKeyRoutes(app: FastifyInstance, db: Queryable): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/v1/api-keys',
    {
      schema: { tags: ['auth'], summary: 'Create an API key (shown once)', body: createBody },
      onRequest: requireApiKey(db, ['admin']),
    },
    async (request, reply) => {
      const { name, role } = request.body;
      const key = await createApiKey(db, name, role);
      return reply.code(201).send({ name, role, key });
    },
  );
}
