import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { eventDataIssues } from '../../events/event-map.ts';
import { handleEvent } from '../../events/handle-event.ts';
import type { CreateNotificationDeps } from '../../notifications/create-notification.ts';
import { jsonObject, text } from '../../text.ts';
import { requireApiKey } from '../auth.ts';
import { idempotencyHeaders, scheduleFields } from './notifications.ts';

/** The fields of one event, in the single route's body and in a batch item alike. */
export const eventFields = {
  id: text().min(1).max(200).optional().describe('Event id; makes retries idempotent like Idempotency-Key'),
  type: text().min(1).max(64).describe('e.g. order.status_changed, payment.completed (see docs/events.md)'),
  customer_id: text().min(1).max(128).optional(),
  partner_id: text().min(1).max(128).optional(),
  user_id: text().min(1).max(128).optional().describe('For user.* events'),
  data: jsonObject()
    .default({})
    .describe('Payload: order, payment, refund… (template variables, see docs/events.md)'),
  ...scheduleFields,
};

/**
 * Each event's data has its own schema in the event table: a blank or mistyped value is a 400
 * naming the field, never an email that says "order #".
 */
export function checkEventData(body: { type: string; data: Record<string, unknown> }, ctx: z.RefinementCtx) {
  for (const issue of eventDataIssues(body.type, body.data)) {
    ctx.addIssue({ code: 'custom', path: ['data', ...issue.path], message: issue.message });
  }
}

const eventBody = z.object(eventFields).strict().superRefine(checkEventData);

export function registerEventRoutes(app: FastifyInstance, deps: CreateNotificationDeps): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: "Report a marketplace event; it notifies the event's recipients",
        body: eventBody,
        headers: idempotencyHeaders,
      },
      onRequest: requireApiKey(deps.db),
    },
    async (request, reply) => {
      const notifications = await handleEvent(deps, request.body, {
        idempotencyKey: request.headers['idempotency-key'],
        scope: `events:${request.apiKey!.id}`,
        at: 'body',
      });
      const created = notifications.some((n) => n.created);
      return reply
        .code(created ? 202 : 200)
        .send({ event_id: request.body.id ?? null, type: request.body.type, notifications });
    },
  );
}
