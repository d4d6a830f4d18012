import { AppError } from '../errors.ts';
import { type CreateNotificationDeps, createNotification } from '../notifications/create-notification.ts';
import { EVENT_TYPES, findRoute, ORDER_STATUSES, type Recipient, STATUS_EVENT } from './event-map.ts';

export interface MarketplaceEvent {
  /** The event's own id; with the Idempotency-Key header it makes a retried event harmless. */
  id?: string | undefined;
  type: string;
  customer_id?: string | undefined;
  partner_id?: string | undefined;
  user_id?: string | undefined;
  data: Record<string, unknown>;
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

/**
 * A marketplace event becomes at most one notification per recipient: the idempotency key is the
 * event's key plus the recipient's role, so a retried event (same key) notifies nobody twice.
 */
export async function handleEvent(
  deps: CreateNotificationDeps,
  event: MarketplaceEvent,
  opts: { idempotencyKey: string | undefined; scope: string },
): Promise<EventOutcome[]> {
  const route = resolveRoute(event);
  const key = opts.idempotencyKey ?? event.id;
  const targets = route.recipients.map((recipient) => {
    const userId = event[ID_FIELD[recipient]];
    if (!userId) {
      throw new AppError(
        'VALIDATION_FAILED',
        `Event ${event.type} needs "${ID_FIELD[recipient]}" (its ${recipient})`,
        {
          errors: [{ field: `body.${ID_FIELD[recipient]}`, message: 'required for this event type' }],
        },
      );
    }
    return { recipient, userId };
  });
  const outcomes: EventOutcome[] = [];
  for (const { recipient, userId } of targets) {
    const result = await createNotification(deps, {
      userId,
      type: route.type,
      context: event.data,
      idempotencyKey: key ? `${key}:${recipient}` : undefined,
      idempotencyScope: opts.scope,
    });
    outcomes.push({
      recipient,
      user_id: userId,
      type: route.type,
      notification_id: result.notificationId,
      created: result.created,
    });
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
