import type { Queryable } from '../db/database.ts';
import { cancelNotifications } from '../notifications/cancel-notifications.ts';
import { contextKey } from '../notifications/schedule.ts';
import { findRoute } from './event-map.ts';
import type { MarketplaceEvent } from './handle-event.ts';

/**
 * An event that ends something (order.cancelled) first cancels what waits under its key (the
 * order number: pickup reminders, a review request, an SMS held by quiet hours), so none of it goes
 * out after the cancellation notice. Idempotent: a retried event finds nothing left to cancel.
 * Returns how many deliveries it cancelled.
 */
export async function cancelForEvents(q: Queryable, events: readonly MarketplaceEvent[]): Promise<number> {
  let cancelled = 0;
  for (const event of events) {
    const path = findRoute(event.type, event.data['status'])?.cancels;
    const key = path && contextKey(event.data, path);
    if (key) cancelled += (await cancelNotifications(q, { cancelKey: key })).cancelled;
  }
  return cancelled;
}
