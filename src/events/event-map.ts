import { requireNotificationType } from '../notifications/catalog.ts';

/**
 * The one table from the marketplace's events to notification types and who receives them.
 * `order.status_changed` is keyed by its new status. Checked against the catalog at load, so a
 * renamed type fails at start-up, not on the first event.
 */
export type Recipient = 'customer' | 'partner' | 'user';

export interface EventRoute {
  type: string;
  recipients: readonly Recipient[];
}

const customer = (type: string): EventRoute => ({ type, recipients: ['customer'] });

export const EVENT_ROUTES: Readonly<Record<string, EventRoute>> = {
  'order.created': customer('order_created'),
  'order.status_changed:confirmed': customer('order_confirmed'),
  'order.status_changed:picked_up': customer('order_picked_up'),
  'order.status_changed:ready': customer('order_ready'),
  'order.status_changed:out_for_delivery': customer('order_out_for_delivery'),
  'order.status_changed:delivered': customer('order_delivered'),
  'order.status_changed:cancelled': { type: 'order_cancelled', recipients: ['customer', 'partner'] },
  'order.status_changed:rescheduled': customer('order_rescheduled'),
  'order.pickup_reminder': customer('pickup_reminder'),
  'order.review_requested': customer('review_request'),
  'payment.initiated': customer('payment_initiated'),
  'payment.completed': customer('payment_completed'),
  'payment.failed': customer('payment_failed'),
  'refund.requested': customer('refund_requested'),
  'refund.completed': customer('refund_completed'),
  'refund.rejected': customer('refund_rejected'),
  'user.registered': { type: 'welcome', recipients: ['user'] },
  'user.verified': { type: 'account_verified', recipients: ['user'] },
  'partner.approved': { type: 'partner_approved', recipients: ['partner'] },
  'partner.rejected': { type: 'partner_rejected', recipients: ['partner'] },
  'partner.order_assigned': { type: 'new_order_assigned', recipients: ['partner'] },
  'partner.payout_completed': { type: 'payout_completed', recipients: ['partner'] },
  'promotion.sent': customer('promo_offer'),
};

for (const route of Object.values(EVENT_ROUTES)) requireNotificationType(route.type);

/** Event types as the API accepts them (`order.status_changed` once, with its statuses). */
export const EVENT_TYPES: readonly string[] = [
  ...new Set(Object.keys(EVENT_ROUTES).map((k) => k.split(':')[0]!)),
];
export const ORDER_STATUSES: readonly string[] = Object.keys(EVENT_ROUTES)
  .filter((k) => k.startsWith('order.status_changed:'))
  .map((k) => k.split(':')[1]!);
