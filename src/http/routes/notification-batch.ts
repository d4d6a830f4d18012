import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CreateNotificationDeps } from '../../notifications/create-notification.ts';
import {
  BATCH_MAX_ITEMS,
  type BatchItem,
  createNotificationBatch,
} from '../../notifications/create-notification-batch.ts';
import { requireApiKey } from '../auth.ts';
import { batchBody, batchSummary, invalidItem, itemIdempotencyKey } from '../batch-request.ts';
import { checkContextValues, createFields } from './notifications.ts';

/** One item: a single create's body, with its own idempotency key in place of the header. */
const batchItem = z
  .object({
    ...createFields,
    idempotency_key: itemIdempotencyKey('item'),
  })
  .strict()
  .superRefine(checkContextValues);

const body = batchBody('notifications', 'POST /api/v1/notifications');

function toBatchItem(raw: unknown, index: number, idempotencyScope: string): BatchItem {
  const parsed = batchItem.safeParse(raw);
  if (!parsed.success) return { invalid: invalidItem('notifications', index, parsed.error) };
  const b = parsed.data;
  return {
    input: {
      userId: b.user_id,
      type: b.type,
      context: b.context,
      title: b.title,
      message: b.message,
      sendAt: b.send_at,
      cancelKey: b.cancel_key,
      idempotencyKey: b.idempotency_key,
      idempotencyScope,
    },
  };
}

/** The bulk path (docs/batches.md): many notifications, one commit, one result per item. */
export function registerNotificationBatchRoute(
  app: FastifyInstance,
  deps: CreateNotificationDeps,
  bodyLimit: number,
): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/notifications/batch',
    {
      bodyLimit,
      schema: {
        tags: ['notifications'],
        summary: `Create up to ${BATCH_MAX_ITEMS} notifications at once; each item gets its own result`,
        body,
      },
      onRequest: requireApiKey(deps.db),
    },
    async (request) => {
      // The single create's scope: a key used there is the same key here.
      const scope = `key:${request.apiKey!.id}`;
      const items = request.body.notifications.map((raw, i) => toBatchItem(raw, i, scope));
      const results = await createNotificationBatch(deps, items);
      return batchSummary(results, 201);
    },
  );
}
