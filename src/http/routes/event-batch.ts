import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type EventBatchItem, handleEventBatch } from '../../events/handle-event-batch.ts';
import type { CreateNotificationDeps } from '../../notifications/create-notification.ts';
import { BATCH_MAX_ITEMS } from '../../notifications/create-notification-batch.ts';
import { requireApiKey } from '../auth.ts';
import { batchBody, batchSummary, invalidItem, itemIdempotencyKey } from '../batch-request.ts';
import { checkEventData, eventFields } from './events.ts';

/** One item: a single event's body, with its own idempotency key in place of the header. */
const batchItem = z
  .object({
    ...eventFields,
    idempotency_key: itemIdempotencyKey('event'),
  })
  .strict()
  .superRefine(checkEventData);

const body = batchBody('events', 'POST /api/v1/events');

function toBatchItem(raw: unknown, index: number): EventBatchItem {
  const parsed = batchItem.safeParse(raw);
  if (!parsed.success) return { invalid: invalidItem('events', index, parsed.error) };
  const { idempotency_key, ...event } = parsed.data;
  return { event, idempotencyKey: idempotency_key };
}

/** The bulk path for events (docs/batches.md): many events, one commit, one result per event. */
export function registerEventBatchRoute(
  app: FastifyInstance,
  deps: CreateNotificationDeps,
  bodyLimit: number,
): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/events/batch',
    {
      bodyLimit,
      schema: {
        tags: ['events'],
        summary: `Report up to ${BATCH_MAX_ITEMS} marketplace events at once; each gets its own result`,
        body,
      },
      onRequest: requireApiKey(deps.db),
    },
    async (request) => {
      // The single event route's scope: a key used there is the same key here.
      const results = await handleEventBatch(
        deps,
        request.body.events.map(toBatchItem),
        `events:${request.apiKey!.id}`,
      );
      return batchSummary(results, 202);
    },
  );
}
