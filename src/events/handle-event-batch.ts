import { AppError, problemBody } from '../errors.ts';
import type { CreateNotificationDeps } from '../notifications/create-notification.ts';
import { type BatchItemResult, createNotificationBatch } from '../notifications/create-notification-batch.ts';
import { cancelForEvents } from './event-cancellation.ts';
import {
  type EventNotification,
  type EventOutcome,
  eventNotifications,
  eventOutcome,
  type MarketplaceEvent,
} from './handle-event.ts';

/** One event as the route parsed it: an event with its own key, or why it is not one. */
export type EventBatchItem =
  | { event: MarketplaceEvent; idempotencyKey: string | undefined }
  | { invalid: AppError };

export interface EventBatchResult {
  index: number;
  /**
   * What a single POST /api/v1/events would have answered: 202 (a notification created), 200 (all
   * replays), or the status of the event's first failing recipient.
   */
  status: number;
  event_id: string | null;
  type: string | null;
  /** The notifications stored for this event, also when another of its recipients failed. */
  notifications: EventOutcome[];
  error?: ReturnType<typeof problemBody>;
}

/**
 * Many events in one request (issue 16's bulk path): each event is expanded exactly as the single
 * route expands it (eventNotifications), then ALL the events' notifications go to one
 * createNotificationBatch call, so the whole batch is one commit; the per-notification results are
 * regrouped per event. An event that cannot be expanded (invalid, unknown type or status, a missing
 * recipient id) fails alone and asks for nothing; a database failure fails the whole batch.
 */
export async function handleEventBatch(
  deps: CreateNotificationDeps,
  items: readonly EventBatchItem[],
  scope: string,
): Promise<EventBatchResult[]> {
  const results: EventBatchResult[] = new Array(items.length);
  // Each event's notifications, as indexes into the one batch of notifications.
  const asked: Array<{
    index: number;
    event: MarketplaceEvent;
    notifications: EventNotification[];
    first: number;
  }> = [];
  const flat: EventNotification[] = [];
  items.forEach((item, index) => {
    if ('invalid' in item) {
      results[index] = eventResult(index, undefined, [], item.invalid.status, problemBody(item.invalid));
      return;
    }
    const { event } = item;
    try {
      const notifications = eventNotifications(event, {
        idempotencyKey: item.idempotencyKey,
        scope,
        at: `events.${index}`,
      });
      asked.push({ index, event, notifications, first: flat.length });
      flat.push(...notifications);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      results[index] = eventResult(index, event, [], err.status, problemBody(err));
    }
  });

  // Before the batch is stored, as the single route does: an order cancelled in this batch cancels
  // what waited under its key, not the notifications the batch itself creates.
  await cancelForEvents(
    deps.db,
    asked.map((a) => a.event),
  );
  const stored = await createNotificationBatch(
    deps,
    flat.map((n) => ({ input: n.input })),
  );
  for (const { index, event, notifications, first } of asked) {
    const own = notifications.map((n, i) => ({ n, r: stored[first + i]! }));
    const outcomes = own
      .filter(({ r }) => r.status < 400)
      .map(({ n, r }) => eventOutcome(n, { notificationId: r.notification_id!, created: r.status === 201 }));
    // Recipients in the route's order, as the single route creates them: its first failure is the event's.
    const failure = own.find(({ r }) => r.status >= 400)?.r;
    const status = failure?.status ?? (outcomes.some((o) => o.created) ? 202 : 200);
    results[index] = eventResult(index, event, outcomes, status, failure?.error);
  }
  return results;
}

function eventResult(
  index: number,
  event: MarketplaceEvent | undefined,
  notifications: EventOutcome[],
  status: number,
  error: BatchItemResult['error'],
): EventBatchResult {
  return {
    index,
    status,
    event_id: event?.id ?? null,
    type: event?.type ?? null,
    notifications,
    ...(error && { error }),
  };
}
