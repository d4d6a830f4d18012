import { AppError } from '../errors.ts';
import {
  type CreateNotificationDeps,
  type CreateNotificationInput,
  createNotification,
} from '../notifications/create-notification.ts';
import type { SendAtInput } from '../notifications/schedule.ts';
import { cancelForEvents } from './event-cancellation.ts';
import { EVENT_TYPES, findRoute, ORDER_STATUSES, type Recipient, STATUS_EVENT } from './event-map.ts';

export interface MarketplaceEvent {
  /** The event's own id; with the Idempotency-Key header it makes a retried event harmless. */
  id?: string | undefined;
  type: string;
  customer_id?: string | undefined;
  partner_id?: string | undefined;
  user_id?: string | undefined;
  data: Record<string, unknown>;
  /** For every recipient's notification (notifications/schedule.ts). */
  send_at?: SendAtInput | undefined;
  cancel_key?: string | undefined;
}

export interface EventOutcome {
  recipient: Recipient;
  user_id: string;
  type: string;
  notification_id: string;
  created: boolean;
}

const ID_FIELD: Record<Recipient, 'customer_id' | 'partner_id' | 'user_id'> = {
  customer: 'customer_id',
  partner: 'partner_id',
  user: 'user_id',
};

/** One notification an event asks for: who receives it and what to create. */
export interface EventNotification {
  recipient: Recipient;
  input: CreateNotificationInput;
}

export interface EventOptions {
  /** The Idempotency-Key (header, or a batch item's own); the event's id when absent. */
  idempotencyKey: string | undefined;
  /** `events:<api key id>` on both routes, so a key used in either is the same key. */
  scope: string;
  /** Where the event sits in the request, for the field a missing recipient id names. */
  at: string;
}

/**
 * A marketplace event becomes at most one notification per recipient: the idempotency key is the
 * event's key plus the recipient's role, so a retried event (same key) notifies nobody twice. The
 * single route (handleEvent) and the batch (handle-event-batch.ts) both expand events here.
 */
export function eventNotifications(event: MarketplaceEvent, opts: EventOptions): EventNotification[] {
  const route = resolveRoute(event);
  const key = opts.idempotencyKey ?? event.id;
  // A missing recipient id throws before the list exists: the event asks for nothing.
  return route.recipients.map((recipient) => {
    const field = ID_FIELD[recipient];
    const userId = event[field];
    if (!userId) {
      throw new AppError('VALIDATION_FAILED', `Event ${event.type} needs "${field}" (its ${recipient})`, {
        errors: [{ field: `${opts.at}.${field}`, message: 'required for this event type' }],
      });
    }
    return {
      recipient,
      input: {
        userId,
        type: route.type,
        context: event.data,
        sendAt: event.send_at,
        cancelKey: event.cancel_key,
        idempotencyKey: key ? `${key}:${recipient}` : undefined,
        idempotencyScope: opts.scope,
      },
    };
  });
}

/** What the API says of one of an event's notifications. */
export function eventOutcome(
  { recipient, input }: EventNotification,
  result: { notificationId: string; created: boolean },
): EventOutcome {
  return {
    recipient,
    user_id: input.userId,
    type: input.type,
    notification_id: result.notificationId,
    created: result.created,
  };
}

/**
 * The single route: each recipient's notification is created in turn, and the first that fails
 * fails the event; the ones created before it stay created (a retry with the key replays them), and
 * the error lists them (`notifications`), as the batch's result for the same event does: a client
 * told only "404" would not know the customer was notified.
 */
export async function handleEvent(
  deps: CreateNotificationDeps,
  event: MarketplaceEvent,
  opts: EventOptions,
): Promise<EventOutcome[]> {
  const outcomes: EventOutcome[] = [];
  const asked = eventNotifications(event, opts);
  await cancelForEvents(deps.db, [event]);
  for (const n of asked) {
    try {
      outcomes.push(eventOutcome(n, await createNotification(deps, n.input)));
    } catch (err) {
      if (!(err instanceof AppError) || outcomes.length === 0) throw err;
      throw new AppError(err.code, err.message, { ...err.details, notifications: outcomes });
    }
  }
  return outcomes;
}

/** The event's data has been checked against its route (eventDataIssues) by the request schema. */
function resolveRoute(event: MarketplaceEvent) {
  const status = event.data['status'];
  const route = findRoute(event.type, status);
  if (route) return route;
  if (event.type === STATUS_EVENT) {
    throw new AppError(
      'UNKNOWN_EVENT_TYPE',
      `${STATUS_EVENT} with status "${String(status)}" is not handled`,
      {
        accepted_statuses: ORDER_STATUSES,
      },
    );
  }
  throw new AppError('UNKNOWN_EVENT_TYPE', `Unknown event type "${event.type}"`, { accepted: EVENT_TYPES });
}
