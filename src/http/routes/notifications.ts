import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RULE_LIMITS } from '../../catalog/delivery-rules.ts';
import { AppError } from '../../errors.ts';
import { contextValueIssues } from '../../notifications/context-schema.ts';
import { type CreateNotificationDeps, createNotification } from '../../notifications/create-notification.ts';
import { getNotificationView } from '../../notifications/notification-view.ts';
import { jsonObject, text } from '../../text.ts';
import { LOCAL_DATE_TIME } from '../../time-zone.ts';
import { requireApiKey } from '../auth.ts';

/** When to send and what may cancel it: on notifications and events alike (docs/scheduling.md). */
export const scheduleFields = {
  send_at: z
    .union([
      z.iso.datetime({ offset: true }).describe('An instant with its offset, e.g. 2027-01-18T08:00:00+05:30'),
      z
        .object({
          local: text()
            .regex(LOCAL_DATE_TIME, 'must be a local time YYYY-MM-DDTHH:MM')
            .describe("A wall time in the recipient's time zone, e.g. 2027-01-18T08:00"),
        })
        .strict(),
    ])
    .optional()
    .describe(
      `Send later: in the future, at most ${RULE_LIMITS.delayMinutes / 1440} days ahead; wins over the type's delay`,
    ),
  cancel_key: text()
    .min(1)
    .max(200)
    .optional()
    .describe("Cancels it while it waits (POST /api/v1/notifications/cancel); else the type's cancel key"),
};

/** The fields of one notification to create, in a single create and in a batch item alike. */
export const createFields = {
  user_id: text().min(1).max(128).describe("The marketplace's user id (see PUT /api/v1/users/{userId})"),
  type: text().min(1).max(64).describe('A notification type from the catalog, e.g. order_confirmed'),
  context: jsonObject().default({}).describe('Template variables, e.g. {"order": {...}}'),
  title: text().min(1).max(200).optional().describe('Overrides the rendered in-app title'),
  message: text().min(1).max(2000).optional().describe('Overrides the rendered in-app message'),
  ...scheduleFields,
};

/**
 * The values given are checked as an event's data is (a blank or mistyped one is a 400 naming
 * the field, never an SMS saying "order #"); a missing one is the renderer's 422.
 */
export function checkContextValues(
  body: { type: string; context: Record<string, unknown> },
  ctx: z.RefinementCtx,
) {
  for (const issue of contextValueIssues(body.type, body.context)) {
    ctx.addIssue({ code: 'custom', path: ['context', ...issue.path], message: issue.message });
  }
}

const createBody = z.object(createFields).strict().superRefine(checkContextValues);

export const idempotencyHeaders = z.object({
  'idempotency-key': text()
    .min(1)
    .max(200)
    .optional()
    .describe('Retrying with the same key returns the first notification instead of creating another'),
});

export function registerNotificationRoutes(app: FastifyInstance, deps: CreateNotificationDeps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireApiKey(deps.db);

  r.post(
    '/api/v1/notifications',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Create a notification for a user (one delivery per allowed channel)',
        body: createBody,
        headers: idempotencyHeaders,
      },
      onRequest: auth,
    },
    async (request, reply) => {
      const b = request.body;
      const result = await createNotification(deps, {
        userId: b.user_id,
        type: b.type,
        context: b.context,
        title: b.title,
        message: b.message,
        sendAt: b.send_at,
        cancelKey: b.cancel_key,
        idempotencyKey: request.headers['idempotency-key'],
        idempotencyScope: `key:${request.apiKey!.id}`,
      });
      // A replay returns the first notification as it stands now.
      const view = result.view ?? (await getNotificationView(deps.db, result.notificationId));
      return reply.code(result.created ? 201 : 200).send(view);
    },
  );

  r.get(
    '/api/v1/notifications/:notificationId',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Get a notification with its deliveries and their status history',
        params: z.object({ notificationId: text().min(1).max(64) }),
      },
      onRequest: auth,
    },
    async (request) => {
      const view = await getNotificationView(deps.db, request.params.notificationId);
      if (!view)
        throw new AppError('NOTIFICATION_NOT_FOUND', `No notification "${request.params.notificationId}"`);
      return view;
    },
  );
}
