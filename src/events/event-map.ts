import type { z } from 'zod';
import { contextFields, contextSchema, type DataField } from '../notifications/context-schema.ts';

/**
 * The one table from the marketplace's events to notification types, who receives them and what
 * their `data` must hold. `order.status_changed` is keyed by its new status. Checked against the
 * catalog at load, so a renamed type or a template variable without a payload type fails at
 * start-up, not on the first event.
 */
export type Recipient = 'customer' | 'partner' | 'user';

export interface EventRoute {
  type: string;
  recipients: readonly Recipient[];
  /** What `data` must hold: every variable the type's templates print, with its kind. */
  fields: readonly DataField[];
  /** The same as a schema; other keys in `data` pass through untouched. */
  data: z.ZodType<Record<string, unknown>>;
  /** A `data` path: the notifications waiting under its value (their cancel key) are cancelled first. */
  cancels?: string;
}

function route(type: string, recipients: readonly Recipient[]): EventRoute {
  const fields = contextFields(type);
  return { type, recipients, fields, data: contextSchema(fields) };
}

const customer = (type: string) => route(type, ['customer']);

export const EVENT_ROUTES: Readonly<Record<string, EventRoute>> = {
  'order.created': customer('order_created'),
  'order.status_changed:confirmed': customer('order_confirmed'),
  'order.status_changed:picked_up': customer('order_picked_up'),
  'order.status_changed:ready': customer('order_ready'),
  'order.status_changed:out_for_delivery': customer('order_out_for_delivery'),
  'order.status_changed:delivered': customer('order_delivered'),
  'order.status_changed:cancelled': {
    ...route('order_cancelled', ['customer', 'partner']),
    cancels: 'order.order_number',
  },
  'order.status_changed:rescheduled': customer('order_rescheduled'),
  'order.pickup_reminder': customer('pickup_reminder'),
  'order.review_requested': customer('review_request'),
  'payment.initiated': customer('payment_initiated'),
  'payment.completed': customer('payment_completed'),
  'payment.failed': customer('payment_failed'),
  'refund.requested': customer('refund_requested'),
  'refund.completed': customer('refund_completed'),
  'refund.rejected': customer('refund_rejected'),
  'user.registered': route('welcome', ['user']),
  'user.verified': route('account_verified', ['user']),
  'partner.approved': route('partner_approved', ['partner']),
  'partner.rejected': route('partner_rejected', ['partner']),
  'partner.order_assigned': route('new_order_assigned', ['partner']),
  'partner.payout_completed': route('payout_completed', ['partner']),
  'promotion.sent': customer('promo_offer'),
};

/** The event whose route is chosen by `data.status`. */
export const STATUS_EVENT = 'order.status_changed';

/** Event types as the API accepts them (`order.status_changed` once, with its statuses). */
export const EVENT_TYPES: readonly string[] = [
  ...new Set(Object.keys(EVENT_ROUTES).map((k) => k.split(':')[0]!)),
];
export const ORDER_STATUSES: readonly string[] = Object.keys(EVENT_ROUTES)
  .filter((k) => k.startsWith(`${STATUS_EVENT}:`))
  .map((k) => k.split(':')[1]!);

/** The route for an event type (and, for order.status_changed, its status); undefined when unhandled. */
export function findRoute(type: string, status: unknown): EventRoute | undefined {
  // A status route is reached through data.status only, never by sending its key as the type.
  if (type.includes(':')) return undefined;
  const key = type === STATUS_EVENT ? `${type}:${String(status)}` : type;
  // Own keys only: a type such as "valueOf" or "constructor" must not find Object.prototype.
  return Object.hasOwn(EVENT_ROUTES, key) ? EVENT_ROUTES[key] : undefined;
}

export interface DataIssue {
  /** Path inside `data`, e.g. ['order', 'order_number']. */
  path: PropertyKey[];
  message: string;
}

/**
 * What is wrong with an event's `data` for its route. An unknown type or status is not an issue
 * here: it is a 422 listing what is accepted (handle-event.ts).
 */
export function eventDataIssues(type: string, data: Record<string, unknown>): DataIssue[] {
  const status = data['status'];
  if (type === STATUS_EVENT && (typeof status !== 'string' || status.trim() === '')) {
    return [{ path: ['status'], message: `required: one of ${ORDER_STATUSES.join(', ')}` }];
  }
  const route = findRoute(type, status);
  if (!route) return [];
  const result = route.data.safeParse(data);
  return result.success ? [] : result.error.issues.map((i) => ({ path: i.path, message: i.message }));
}
