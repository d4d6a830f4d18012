import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { UserTokens } from '../../auth/user-tokens.ts';
import { INVALID_PHONE_MESSAGE, maskPhone, validatePhone } from '../../channels/sms/phone.ts';
import type { Db } from '../../db/database.ts';
import { users } from '../../db/schema.ts';
import { AppError } from '../../errors.ts';
import { isSupportedLocale, LOCALES } from '../../templates/template-files.ts';
import { text } from '../../text.ts';
import { isTimeZone } from '../../time-zone.ts';
import { effectiveTimeZone } from '../../user-time-zone.ts';
import { findUsers } from '../../users/find-users.ts';
import {
  attributesFilterParam,
  attributesPatch,
  initialAttributes,
  MAX_ATTRIBUTES,
  mergedAttributes,
  mergeFits,
} from '../../users/user-attributes.ts';
import { requireApiKey } from '../auth.ts';

export const userIdParam = z.object({
  userId: text().min(1).max(128).describe("The marketplace's user id"),
});

const userBody = z
  .object({
    email: z.email().max(254).nullable().optional(),
    phone: text().max(32).nullable().optional().describe('E.164, e.g. +919876543210'),
    first_name: text().max(100).nullable().optional(),
    last_name: text().max(100).nullable().optional(),
    locale: text()
      .max(35)
      .refine(
        isSupportedLocale,
        `must be a supported locale: ${LOCALES.join(', ')} (or a regional tag of one, e.g. hi-IN)`,
      )
      .optional()
      .describe('e.g. en, hi, ta'),
    time_zone: text()
      .refine(isTimeZone, 'must be an IANA time zone such as Asia/Kolkata')
      .nullable()
      .optional()
      .describe("Their own zone; null: the phone number's country decides, else the default"),
    role: z.enum(['customer', 'partner', 'admin']).optional(),
    attributes: attributesPatch.optional(),
  })
  .strict();

const listQuery = z
  .object({
    filter: attributesFilterParam
      .optional()
      .describe(
        'Users whose attributes have every pair of this JSON object, e.g. {"city":"Pune","vip":true}',
      ),
    cursor: z
      .string()
      .regex(/^[1-9]\d{0,14}$/, 'must be the next_cursor of the previous page')
      .optional()
      .describe('next_cursor of the previous page'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

type UserRow = typeof users.$inferSelect;

export function userView(u: UserRow) {
  const zone = effectiveTimeZone(u);
  return {
    id: u.externalId,
    email: u.email,
    phone: u.phone,
    first_name: u.firstName,
    last_name: u.lastName,
    locale: u.locale,
    time_zone: u.timeZone,
    // What quiet hours, caps and schedules use, and why: 'user', 'phone' or 'default'.
    effective_time_zone: zone.zone,
    effective_time_zone_source: zone.source,
    role: u.role,
    attributes: u.attributes,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  };
}

/** Users are owned by the marketplace: it upserts them by its own id before notifying them. */
export function registerUserRoutes(
  app: FastifyInstance,
  db: Db,
  tokens: UserTokens,
  tokenTtlSeconds: number,
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireApiKey(db);

  r.put(
    '/api/v1/users/:userId',
    {
      schema: { tags: ['users'], summary: 'Create or update a user', params: userIdParam, body: userBody },
      onRequest: auth,
    },
    async (request, reply) => {
      const b = request.body;
      if (b.phone) {
        const check = validatePhone(b.phone);
        if (!check.ok) throw new AppError('SMS_INVALID_PHONE', INVALID_PHONE_MESSAGE, { field: 'phone' });
      }
      const values = {
        email: b.email,
        phone: b.phone,
        firstName: b.first_name,
        lastName: b.last_name,
        locale: b.locale,
        timeZone: b.time_zone,
        role: b.role,
      };
      const defined = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
      const patch = b.attributes;
      // Merged in the statement (user-attributes.ts); the update is skipped, and no row returned,
      // when the merge would pass MAX_ATTRIBUTES. A new user cannot: the patch itself is bounded.
      const [row] = await db
        .insert(users)
        .values({
          externalId: request.params.userId,
          ...defined,
          ...(patch && { attributes: initialAttributes(patch) }),
        })
        .onConflictDoUpdate({
          target: users.externalId,
          set: { ...defined, ...(patch && { attributes: mergedAttributes(patch) }), updatedAt: sql`now()` },
          ...(patch && { setWhere: mergeFits(patch) }),
        })
        .returning();
      if (!row) {
        throw new AppError(
          'VALIDATION_FAILED',
          `body.attributes: the user would have more than ${MAX_ATTRIBUTES} attributes; remove some with null`,
          { errors: [{ field: 'body.attributes', message: `more than ${MAX_ATTRIBUTES} attributes` }] },
        );
      }
      const created = row!.createdAt.getTime() === row!.updatedAt.getTime();
      return reply.code(created ? 201 : 200).send(userView(row!));
    },
  );

  r.get(
    '/api/v1/users',
    {
      schema: {
        tags: ['users'],
        summary: 'List users (those matching a filter on their attributes), oldest first',
        querystring: listQuery,
      },
      onRequest: requireApiKey(db, ['service', 'viewer']),
    },
    async (request) => {
      const q = request.query;
      const page = await findUsers(
        db,
        { attributes: q.filter },
        { afterId: q.cursor === undefined ? undefined : Number(q.cursor), limit: q.limit },
      );
      return {
        // A list is a bulk read, open to viewer keys: phones are masked as in the console and the
        // logs. GET /api/v1/users/{id} gives a service key the whole number.
        users: page.users.map((u) => ({ ...userView(u), phone: u.phone && maskPhone(u.phone) })),
        next_cursor: page.nextAfterId === undefined ? null : String(page.nextAfterId),
      };
    },
  );

  r.get(
    '/api/v1/users/:userId',
    { schema: { tags: ['users'], summary: 'Get a user', params: userIdParam }, onRequest: auth },
    async (request) => {
      const [row] = await db.select().from(users).where(eq(users.externalId, request.params.userId));
      if (!row) throw new AppError('USER_NOT_FOUND', `No user with id "${request.params.userId}"`);
      return userView(row);
    },
  );

  r.delete(
    '/api/v1/users/:userId',
    {
      schema: { tags: ['users'], summary: 'Delete a user and all their notifications', params: userIdParam },
      onRequest: auth,
    },
    async (request, reply) => {
      const deleted = await db
        .delete(users)
        .where(eq(users.externalId, request.params.userId))
        .returning({ id: users.id });
      if (deleted.length === 0)
        throw new AppError('USER_NOT_FOUND', `No user with id "${request.params.userId}"`);
      return reply.code(204).send();
    },
  );

  r.post(
    '/api/v1/users/:userId/token',
    {
      schema: {
        tags: ['users'],
        summary: "Issue a short-lived token for the user's own inbox and preferences (see docs/auth.md)",
        params: userIdParam,
      },
      onRequest: auth,
    },
    async (request, reply) => {
      const [row] = await db
        .select({ id: users.id })
        .from(users)
        .where(eq(users.externalId, request.params.userId));
      if (!row) throw new AppError('USER_NOT_FOUND', `No user with id "${request.params.userId}"`);
      const { token, expiresAt } = await tokens.issue(request.params.userId, tokenTtlSeconds);
      return reply.code(201).send({ token, token_type: 'Bearer', expires_at: expiresAt.toISOString() });
    },
  );
}
