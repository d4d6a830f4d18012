import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UserTokens } from '../../auth/user-tokens.ts';
import {
  deletePushSubscription,
  isP256PublicKey,
  isPushAuthSecret,
  savePushSubscription,
} from '../../channels/push/subscriptions.ts';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { findInboxUser } from '../../inbox/inbox-store.ts';
import { text, url } from '../../text.ts';
import { requireUserOrApiKey, targetUserId } from '../auth.ts';
import { userQuery } from './inbox.ts';

const base64urlKey = (valid: (key: Buffer) => boolean, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, 'must be base64url')
    .refine((v) => valid(Buffer.from(v, 'base64url')), `must be ${what}`);

export interface PushRouteOptions {
  db: Db;
  tokens: UserTokens;
  vapidPublicKey: string;
  /** Real push services are all https; plain http only for local stand-ins (config). */
  allowHttpEndpoints: boolean;
}

/** Web Push subscriptions (docs/inbox.md, "Web Push"): the body is the browser's PushSubscription.toJSON(). */
export function registerPushRoutes(app: FastifyInstance, o: PushRouteOptions): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireUserOrApiKey(o.db, o.tokens);
  const tags = ['push'];
  // The service POSTs to this URL, so only https (no SSRF into the private network over plain http).
  const endpoint = url({ protocol: o.allowHttpEndpoints ? /^https?$/ : /^https$/ })
    .max(2048)
    .describe('The push service URL the browser was given');
  const subscribeBody = z.object({
    endpoint,
    expirationTime: z.number().nullable().optional(),
    keys: z.object({
      p256dh: base64urlKey(isP256PublicKey, 'an uncompressed P-256 public key (65 bytes, on the curve)'),
      auth: base64urlKey(isPushAuthSecret, 'the 16-byte auth secret'),
    }),
  });

  r.get(
    '/api/v1/push/vapid-public-key',
    { schema: { tags, summary: "The VAPID public key (the browser's applicationServerKey)", security: [] } },
    async () => ({ public_key: o.vapidPublicKey }),
  );

  r.post(
    '/api/v1/push/subscriptions',
    {
      schema: {
        tags,
        summary: 'Subscribe a browser to Web Push',
        querystring: userQuery,
        body: subscribeBody,
      },
      onRequest: auth,
    },
    async (request, reply) => {
      const user = await findInboxUser(o.db, targetUserId(request, request.query.user_id));
      const b = request.body;
      const { row, created } = await savePushSubscription(o.db, user.id, {
        endpoint: b.endpoint,
        p256dh: b.keys.p256dh,
        auth: b.keys.auth,
      });
      return reply
        .code(created ? 201 : 200)
        .send({ id: String(row.id), endpoint: row.endpoint, created_at: row.createdAt.toISOString() });
    },
  );

  r.delete(
    '/api/v1/push/subscriptions',
    {
      schema: {
        tags,
        summary: 'Unsubscribe a browser',
        querystring: userQuery,
        body: z.object({ endpoint: text().min(1).max(2048) }),
      },
      onRequest: auth,
    },
    async (request, reply) => {
      const user = await findInboxUser(o.db, targetUserId(request, request.query.user_id));
      if (!(await deletePushSubscription(o.db, user.id, request.body.endpoint))) {
        throw new AppError('NOT_FOUND', 'No such push subscription for this user');
      }
      return reply.code(204).send();
    },
  );
}
