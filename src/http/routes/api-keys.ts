import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  API_KEY_ROLES,
  type ApiKeySummary,
  createApiKey,
  type KeyChange,
  listApiKeys,
  MAX_ROTATION_OVERLAP_SECONDS,
  revokeApiKey,
  rotateApiKey,
} from '../../auth/api-keys.ts';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { text } from '../../text.ts';
import { requireApiKey } from '../auth.ts';

const createBody = z
  .object({
    name: text().min(1).max(100).describe('Who or what the key is for, e.g. "ops dashboard"'),
    role: z.enum(API_KEY_ROLES).describe('service (the backend), admin (everything) or viewer (read only)'),
  })
  .strict();

const keyParams = z.object({ id: z.coerce.number().int().positive().describe('The key id from the list') });

const rotateBody = z
  .object({
    overlap_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_ROTATION_OVERLAP_SECONDS)
      .default(24 * 3600)
      .describe('How long the old key keeps working (default one day; 0 stops it now)'),
  })
  .strict()
  .default({ overlap_seconds: 24 * 3600 });

/** A refused key change as the API's problem body. */
function refused(change: Exclude<KeyChange, { kind: 'done' }>, id: number): AppError {
  switch (change.kind) {
    case 'not_found':
      return new AppError('API_KEY_NOT_FOUND', `No API key with id ${id}`);
    case 'already_revoked':
      return new AppError('API_KEY_REVOKED', `API key ${id} was revoked at ${change.key.revoked_at}`, {
        key: change.key,
      });
    case 'last_admin':
      return new AppError(
        'LAST_ADMIN_KEY',
        'This is the last admin key: create or rotate to another admin key first (a lost one can be replaced with `keys create --role admin` on the machine)',
      );
  }
}

/**
 * Admins hand out, list, rotate and revoke keys. A key is shown in the answer that creates it and
 * never again (the database keeps its hash); lists show its prefix only.
 */
export function registerApiKeyRoutes(app: FastifyInstance, db: Db): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = requireApiKey(db, ['admin']);
  r.post(
    '/api/v1/api-keys',
    {
      schema: { tags: ['auth'], summary: 'Create an API key (shown once)', body: createBody },
      onRequest: admin,
    },
    async (request, reply) => {
      const { name, role } = request.body;
      const key = await createApiKey(db, name, role);
      return reply.code(201).send({ name, role, key });
    },
  );
  r.get(
    '/api/v1/api-keys',
    {
      schema: { tags: ['auth'], summary: 'List API keys (prefix, role, state, last used)' },
      onRequest: admin,
    },
    async (): Promise<{ keys: ApiKeySummary[] }> => ({ keys: await listApiKeys(db) }),
  );
  r.post(
    '/api/v1/api-keys/:id/revoke',
    {
      schema: { tags: ['auth'], summary: 'Revoke an API key now', params: keyParams },
      onRequest: admin,
    },
    async (request) => {
      const change = await revokeApiKey(db, request.params.id);
      if (change.kind !== 'done') throw refused(change, request.params.id);
      return { key: change.key };
    },
  );
  r.post(
    '/api/v1/api-keys/:id/rotate',
    {
      schema: {
        tags: ['auth'],
        summary: 'Replace an API key: a new key (shown once), the old one working for the overlap',
        params: keyParams,
        body: rotateBody,
      },
      onRequest: admin,
    },
    async (request, reply) => {
      const result = await rotateApiKey(db, request.params.id, request.body.overlap_seconds);
      if (result.kind !== 'done') throw refused(result, request.params.id);
      return reply.code(201).send({ key: result.key, created: result.created, old: result.old });
    },
  );
}
