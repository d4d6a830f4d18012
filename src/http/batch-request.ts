import { z } from 'zod';
import { AppError } from '../errors.ts';
import { BATCH_MAX_ITEMS } from '../notifications/create-notification-batch.ts';
import { text } from '../text.ts';

/**
 * What the two batch routes (notifications, events) share: the body's shape, an item's own
 * idempotency key, one item's schema errors, and the counts of the answer.
 */

/** An item's own Idempotency-Key, in place of the header of the single route. */
export function itemIdempotencyKey(what: string) {
  return text()
    .min(1)
    .max(200)
    .optional()
    .describe(`This ${what}'s Idempotency-Key: a retried batch returns the first result for it`);
}

/**
 * `{ <list>: [...] }` of 1 to BATCH_MAX_ITEMS items, each left unparsed here: items are checked one
 * by one (invalidItem), so one bad item is its own 400 and the rest go on.
 */
export function batchBody<L extends string>(list: L, eachAs: string) {
  return z
    .object({
      [list]: z
        .array(z.unknown())
        .min(1)
        .max(BATCH_MAX_ITEMS)
        .describe(`Up to ${BATCH_MAX_ITEMS} ${list}, each as the body of ${eachAs}`),
    } as Record<L, z.ZodArray<z.ZodUnknown>>)
    .strict();
}

/** The answer: how many items were created (`createdStatus`), replayed (200) and refused, then each result. */
export function batchSummary<R extends { status: number }>(results: R[], createdStatus: number) {
  return {
    created: results.filter((r) => r.status === createdStatus).length,
    replayed: results.filter((r) => r.status === 200).length,
    failed: results.filter((r) => r.status >= 400).length,
    results,
  };
}

/**
 * A batch item's schema errors as the single route reports them (error-handler.ts), with the
 * item's place in the field path (`<list>.<index>.<field>`): one bad item is its own 400.
 */
export function invalidItem(list: string, index: number, error: z.ZodError): AppError {
  const errors = error.issues.flatMap((issue) => {
    const at = [list, String(index), ...issue.path.map(String)];
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys.map((key) => ({
      field: [...at, ...(key === undefined ? [] : [key])].join('.'),
      message: key === undefined ? issue.message : 'is not a known field',
    }));
  });
  return new AppError('VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
    errors,
  });
}
