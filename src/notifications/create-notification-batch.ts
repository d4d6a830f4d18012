import { AppError, problemBody } from '../errors.ts';
import {
  type CreateNotificationDeps,
  type CreateNotificationInput,
  type PreparedNotification,
  prepareNotification,
  storeNotification,
} from './create-notification.ts';

/** The most items one batch request may carry (the API refuses more with a 400). */
export const BATCH_MAX_ITEMS = 1000;

/**
 * Items prepared at once: the reads (replay check, recipient, caps) of a few items overlap on
 * PostgreSQL's pool; PGlite has one connection and takes them in turn either way.
 */
const PREPARE_CONCURRENCY = 8;

/** One item as the route parsed it: a request to create, or why it is not one. */
export type BatchItem = { input: CreateNotificationInput } | { invalid: AppError };

export interface BatchItemResult {
  index: number;
  /** What a single POST /api/v1/notifications would have answered: 201, 200 (a replay), or the error's. */
  status: number;
  notification_id: string | null;
  /** Each delivery's first decision (created items only). */
  deliveries?: Array<{ channel: string; status: string; skip_reason: string | null }>;
  error?: ReturnType<typeof problemBody>;
}

/**
 * Many notifications in one request (issue 16's bulk path): each item is decided exactly as a
 * single create decides it (`prepareNotification`), and every item that can be created is stored
 * in ONE transaction, so a batch costs one commit instead of one per item. An item that cannot be
 * created (invalid, unknown user or type, template error, idempotency conflict) gets its own error
 * and the others go on. A failure of the database itself fails the whole batch with nothing
 * stored: every item can then be retried with its idempotency key.
 *
 * Stored in idempotency-key order: two concurrent batches sharing keys take the key rows in the
 * same order, so they wait for each other instead of deadlocking.
 */
export async function createNotificationBatch(
  deps: CreateNotificationDeps,
  items: readonly BatchItem[],
): Promise<BatchItemResult[]> {
  const results: BatchItemResult[] = new Array(items.length);
  const prepared: Array<{ index: number; prepared: PreparedNotification; key: string }> = [];
  const fail = (index: number, err: AppError) => {
    results[index] = { index, status: err.status, notification_id: null, error: problemBody(err) };
  };

  let next = 0;
  const prepareSome = async () => {
    while (next < items.length) {
      const index = next++;
      const item = items[index]!;
      if ('invalid' in item) {
        fail(index, item.invalid);
        continue;
      }
      try {
        prepared.push({
          index,
          prepared: await prepareNotification(deps, item.input),
          key: item.input.idempotencyKey ?? '',
        });
      } catch (err) {
        // Only the item's own errors are its result; anything else (the database) fails the batch.
        if (!(err instanceof AppError)) throw err;
        fail(index, err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PREPARE_CONCURRENCY, items.length) }, prepareSome));

  prepared.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  const stored = await deps.db.transaction(async (tx) => {
    const out: Array<{ index: number; result: Awaited<ReturnType<typeof storeNotification>> | AppError }> =
      [];
    for (const p of prepared) {
      try {
        out.push({ index: p.index, result: await storeNotification(tx, p.prepared) });
      } catch (err) {
        // An idempotency conflict is found after the statement answered: the transaction is intact.
        if (!(err instanceof AppError)) throw err;
        out.push({ index: p.index, result: err });
      }
    }
    return out;
  });
  for (const { index, result } of stored) {
    if (result instanceof AppError) {
      fail(index, result);
      continue;
    }
    results[index] = {
      index,
      status: result.created ? 201 : 200,
      notification_id: result.notificationId,
      ...(result.view && {
        deliveries: result.view.deliveries.map((d) => ({
          channel: d.channel,
          status: d.status,
          skip_reason: d.skip_reason,
        })),
      }),
    };
  }
  return results;
}
