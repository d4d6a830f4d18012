import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Queryable } from '../../db/database.ts';
import { AppError } from '../../errors.ts';
import { cancelNotifications } from '../../notifications/cancel-notifications.ts';
import { text } from '../../text.ts';
import { requireApiKey } from '../auth.ts';

/** Cancelling scheduled notifications (docs/scheduling.md): by id, or every one under a cancel key. */
export function registerNotificationCancelRoutes(app: FastifyInstance, db: Queryable): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = requireApiKey(db);

  r.post(
    '/api/v1/notifications/:notificationId/cancel',
    {
      schema: {
        tags: ['notifications'],
        summary: 'Cancel a notification’s waiting deliveries; each delivery says what became of it',
        params: z.object({ notificationId: text().min(1).max(64) }),
      },
      onRequest: auth,
    },
    async (request) => {
      const { notificationId } = request.params;
      const answer = await cancelNotifications(db, { notificationId });
      // Every notification has a delivery per channel of its type, so none means no such notification.
      if (answer.deliveries.length === 0) {
        throw new AppError('NOTIFICATION_NOT_FOUND', `No notification "${notificationId}"`);
      }
      return answer;
    },
  );

  r.post(
    '/api/v1/notifications/cancel',
    {
      schema: {
        tags: ['notifications'],
        summary:
          'Cancel the waiting deliveries of every notification under a cancel key (e.g. an order number)',
        body: z
          .object({
            cancel_key: text()
              .min(1)
              .max(200)
              .describe('The key given at creation, or the type’s (docs/templates.md)'),
            user_id: text().min(1).max(128).optional().describe('Only this user’s notifications'),
          })
          .strict(),
      },
      onRequest: auth,
    },
    async (request) =>
      cancelNotifications(db, { cancelKey: request.body.cancel_key, userExternalId: request.body.user_id }),
  );
}
