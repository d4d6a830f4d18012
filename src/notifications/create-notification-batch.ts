import { AppError, problemBody } from '../errors.ts';
import {
  type CreateNotificationDeps,
  type CreateNotificationInput,
  prepareNotifications,
  storeNotifications,
} from './create-notification.ts';

/** The most items one batch request may carry (the API refuses more with a 400). */
export const BATCH_MAX_ITEMS = 1000;

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
 * Many notifications in one request (issue 16's bulk path): the items are decided exactly as a
 * single create decides one (`prepareNotifications`: the single create is a set of one), their
 * reads made in bulk (one query each for the keys, the recipients and the SMS counts), and every
 * item that can be created is stored by ONE atomic call, so a batch costs a handful of round trips
 * and one commit, whatever its size. An item that cannot be created (invalid, unknown user or
 * type, template error, idempotency conflict) gets its own error and the others go on. A failure
 * of the database itself fails the whole batch with nothing stored: every item can then be retried
 * with its idempotency key. The call claims the keys in key order, so concurrent batches sharing
 * keys wait for each other instead of deadlocking.
 */
export async function createNotificationBatch(
  deps: CreateNotificationDeps,
  items: readonly BatchItem[],
): Promise<BatchItemResult[]> {
  const valid = items.flatMap((item, index) => ('invalid' in item ? [] : [{ index, input: item.input }]));
  const prepared = await prepareNotifications(
    deps,
    valid.map((v) => v.input),
  );
  const stored = await storeNotifications(deps, prepared, false);
  const results: BatchItemResult[] = new Array(items.length);
  items.forEach((item, index) => {
    if ('invalid' in item) results[index] = failed(index, item.invalid);
  });
  valid.forEach(({ index }, i) => {
    const result = stored[i]!;
    const p = prepared[i]!;
    if (result instanceof AppError) {
      results[index] = failed(index, result);
      return;
    }
    results[index] = {
      index,
      status: result.created ? 201 : 200,
      notification_id: result.notificationId,
      // What was written: the decisions themselves.
      ...(result.created &&
        !(p instanceof AppError) &&
        p.kind === 'new' && {
          deliveries: p.deliveries.map((d) => ({
            channel: d.channel,
            status: d.status,
            skip_reason: d.skipReason,
          })),
        }),
    };
  });
  return results;
}

function failed(index: number, err: AppError): BatchItemResult {
  return { index, status: err.status, notification_id: null, error: problemBody(err) };
}
