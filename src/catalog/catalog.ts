/**
 * The notification catalog: the one place notification types are defined. Everything else (triggers,
 * preferences, templates, the dashboard) looks types up here instead of spelling their names.
 */
import { AppError } from '../errors.ts';
import { type DeliveryRules, deliveryRuleProblems } from './delivery-rules.ts';

/** The ways a notification can reach a user; each has one module under src/channels/ (in_app: src/inbox/). */
export const CHANNELS = ['in_app', 'sms', 'email', 'push'] as const;
export type ChannelName = (typeof CHANNELS)[number];

/** Preference groups a user switches on or off per channel (the seed's `order_updates_sms`, …). */
export const CATEGORIES = ['order_updates', 'payment_updates', 'account', 'partner', 'promotions'] as const;
export type Category = (typeof CATEGORIES)[number];

/** critical: sent at once; regular: held during quiet hours; digest: may be batched into a digest. */
export const PRIORITIES = ['critical', 'regular', 'digest'] as const;
export type Priority = (typeof PRIORITIES)[number];

export interface NotificationTypeDef {
  name: string;
  category: Category;
  priority: Priority;
  channels: readonly ChannelName[];
  recipient: 'customer' | 'partner' | 'any';
  description: string;
  /** Dotted context paths the templates use, e.g. 'order.order_number'. */
  variables: readonly string[];
  /** A realistic context for previews and tests; holds every path in `variables`. */
  sampleContext: Record<string, unknown>;
  /**
   * The page the notification is about (its email's button), a Liquid template rendered with its
   * context; the digest links each of its items there.
   */
  link: string;
  /**
   * 'channel': a message about a channel itself goes out when the user has that channel on in any
   * category, not just in its own (the SMS opt-in confirmation). Default: its own category.
   */
  gatedBy?: 'channel';
  /** Escalation, fallback, delay, cancel and collapse keys, throttle (catalog/delivery-rules.ts). */
  rules?: DeliveryRules;
}

const ALL_CHANNELS: readonly ChannelName[] = ['in_app', 'sms', 'email', 'push'];
// SMS costs money per segment, so low-value messages never use it (the seed's cost-optimisation advice).
const NO_SMS: readonly ChannelName[] = ['in_app', 'email', 'push'];

const ORDER = {
  order_number: 'LC240117',
  pickup_date: 'Sat 18 Jan, 9-11 AM',
  delivery_date: 'Mon 20 Jan, 6-8 PM',
  items_count: 6,
  partner_name: 'FreshFold Laundry',
  pickup_area: 'Koramangala',
};
const CUSTOMER = { first_name: 'Priya' };
/** The marketplace's site, which every catalog link points at (and tracked links may, by default). */
export const SITE = 'https://laundryconnect.com';
const ORDER_LINK = `${SITE}/orders/{{ order.order_number }}`;
const PARTNER_OWNER = { first_name: 'Ramesh' };

const orderContext = { ...CUSTOMER, order: ORDER };
const paymentContext = { ...orderContext, payment: { amount: '449.00', transaction_id: 'pay_NkX82Lq3TaY7' } };
const refundContext = { ...orderContext, refund: { amount: '449.00' } };

type Def = Omit<NotificationTypeDef, 'name'>;

function orderType(priority: Priority, description: string, paths: string[]): Def {
  return {
    category: 'order_updates',
    priority,
    channels: ALL_CHANNELS,
    recipient: 'customer',
    description,
    variables: ['first_name', 'order.order_number', ...paths],
    sampleContext: orderContext,
    link: ORDER_LINK,
  };
}

function paymentType(
  priority: Priority,
  description: string,
  kind: 'payment' | 'refund',
  paths: string[],
): Def {
  return {
    category: 'payment_updates',
    priority,
    channels: ALL_CHANNELS,
    recipient: 'customer',
    description,
    variables: ['first_name', 'order.order_number', `${kind}.amount`, ...paths],
    sampleContext: kind === 'payment' ? paymentContext : refundContext,
    link: ORDER_LINK,
  };
}

const DEFS: Record<string, Def> = {
  order_created: orderType('regular', 'New order placed', ['order.pickup_date']),
  order_confirmed: orderType('critical', 'Order confirmed and pickup scheduled', ['order.pickup_date']),
  order_picked_up: orderType('regular', 'Laundry picked up', ['order.items_count', 'order.delivery_date']),
  // The guide's cost advice: most users see the in-app message within minutes, so the SMS (paid per
  // segment) goes only to those who have not (delivery-rules.ts). Critical types never wait.
  order_ready: {
    ...orderType('regular', 'Order cleaned and ready for delivery', ['order.delivery_date']),
    rules: { escalation: { channels: ['sms'], afterMinutes: 10 } },
  },
  // An alert of the moment ("keep your phone handy"): SMS, push and the inbox, not an email read
  // hours later; email only when the SMS cannot reach the user (fallback: an invalid or dead number).
  // A newer "out for delivery" of the same order (a new ETA, another rider) replaces one still queued.
  order_out_for_delivery: {
    ...orderType('critical', 'Order is being delivered', []),
    channels: ['in_app', 'sms', 'push'],
    rules: { fallback: { sms: ['email'] }, collapseKey: 'order.order_number' },
  },
  order_delivered: orderType('critical', 'Order delivered successfully', []),
  order_cancelled: orderType('critical', 'Order cancelled', []),
  // Only the latest slot of an order matters: a newer reschedule replaces one still queued (held by quiet hours).
  order_rescheduled: {
    ...orderType('regular', 'Pickup moved to a new slot', ['order.pickup_date']),
    rules: { collapseKey: 'order.order_number' },
  },
  pickup_reminder: orderType('regular', 'Reminder shortly before the pickup slot', [
    'order.pickup_date',
    'order.partner_name',
  ]),
  // A notice, not news (completed or failed follows): one per quarter hour, however often the user retries.
  payment_initiated: {
    ...paymentType('regular', 'Payment processing', 'payment', []),
    rules: { throttleMinutes: 15 },
  },
  payment_completed: paymentType('critical', 'Payment successful', 'payment', ['payment.transaction_id']),
  payment_failed: paymentType('critical', 'Payment failed; the customer must pay again', 'payment', []),
  // An acknowledgement, not an alert: the SMS only if the in-app message is unseen after 30 min.
  refund_requested: {
    ...paymentType('regular', 'Refund request received', 'refund', []),
    rules: { escalation: { channels: ['sms'], afterMinutes: 30 } },
  },
  refund_completed: paymentType('critical', 'Refund processed', 'refund', []),
  refund_rejected: paymentType('regular', 'Refund request declined', 'refund', []),
  welcome: {
    category: 'account',
    priority: 'regular',
    channels: ALL_CHANNELS,
    recipient: 'any',
    description: 'New user registration, with a first-order promo code',
    variables: ['first_name', 'promo.code', 'promo.discount'],
    sampleContext: { ...CUSTOMER, promo: { code: 'WELCOME20', discount: 20 } },
    link: SITE,
  },
  account_verified: {
    category: 'account',
    priority: 'regular',
    channels: ALL_CHANNELS,
    recipient: 'any',
    description: 'Account verified successfully',
    variables: ['first_name'],
    sampleContext: CUSTOMER,
    link: SITE,
  },
  // The answer to a user turning SMS on (the guide: "Provide opt-out instructions"), sent once per
  // opt-in (notifications/sms-opt-in-confirmation.ts). Critical: it answers the user's own action at that moment,
  // so quiet hours do not hold it. It is about SMS, so it goes by SMS (and to the inbox, like all).
  sms_opt_in_confirmed: {
    category: 'account',
    priority: 'critical',
    channels: ['in_app', 'sms'],
    recipient: 'any',
    description: 'SMS turned on: the brand, what is sent, and how to get help or opt out',
    variables: ['first_name'],
    sampleContext: CUSTOMER,
    link: `${SITE}/settings/notifications`,
    gatedBy: 'channel',
  },
  partner_approved: {
    category: 'partner',
    priority: 'regular',
    channels: ALL_CHANNELS,
    recipient: 'partner',
    description: 'Partner account approved',
    variables: ['first_name', 'partner.business_name'],
    sampleContext: { ...PARTNER_OWNER, partner: { business_name: 'FreshFold Laundry' } },
    link: `${SITE}/partner`,
  },
  partner_rejected: {
    category: 'partner',
    priority: 'regular',
    channels: ALL_CHANNELS,
    recipient: 'partner',
    description: 'Partner application not approved',
    variables: ['first_name', 'partner.business_name'],
    sampleContext: { ...PARTNER_OWNER, partner: { business_name: 'FreshFold Laundry' } },
    link: `${SITE}/partner`,
  },
  // Critical: a partner who hears late may miss the pickup slot.
  new_order_assigned: {
    category: 'partner',
    priority: 'critical',
    channels: ALL_CHANNELS,
    recipient: 'partner',
    description: 'New order assigned to a partner',
    variables: ['first_name', 'order.order_number', 'order.pickup_date', 'order.pickup_area'],
    sampleContext: { ...PARTNER_OWNER, order: ORDER },
    link: `${SITE}/partner/orders/{{ order.order_number }}`,
  },
  payout_completed: {
    category: 'partner',
    priority: 'regular',
    channels: ALL_CHANNELS,
    recipient: 'partner',
    description: 'Partner earnings paid out',
    variables: ['first_name', 'payout.amount', 'payout.period'],
    sampleContext: { ...PARTNER_OWNER, payout: { amount: '12,840.00', period: '6-12 Jan' } },
    link: `${SITE}/partner/payouts`,
  },
  review_request: {
    category: 'promotions',
    priority: 'digest',
    channels: NO_SMS,
    recipient: 'customer',
    description: 'Ask for a rating after delivery',
    variables: ['first_name', 'order.order_number', 'order.partner_name'],
    sampleContext: orderContext,
    link: `${ORDER_LINK}/review`,
    // Two hours after the delivery, once the customer has unpacked; dropped if the order is cancelled.
    rules: { delayMinutes: 120, cancelKey: 'order.order_number' },
  },
  promo_offer: {
    category: 'promotions',
    priority: 'digest',
    channels: NO_SMS,
    recipient: 'customer',
    description: 'Promotional offer with a discount code',
    variables: ['first_name', 'promo.code', 'promo.discount', 'promo.valid_until'],
    sampleContext: { ...CUSTOMER, promo: { code: 'FRESH15', discount: 15, valid_until: '31 Jan' } },
    link: SITE,
  },
};

/**
 * The order types whose waiting notifications go when the order is cancelled (order.cancelled
 * cancels by the order number: event-map.ts). Not order_cancelled itself, nor order_delivered.
 */
const CANCELLED_WITH_THE_ORDER: ReadonlySet<string> = new Set([
  'order_created',
  'order_confirmed',
  'order_picked_up',
  'order_ready',
  'order_out_for_delivery',
  'order_rescheduled',
  'pickup_reminder',
]);

function withOrderCancelKey(name: string, def: Def): Def {
  if (!CANCELLED_WITH_THE_ORDER.has(name)) return def;
  return { ...def, rules: { cancelKey: 'order.order_number', ...def.rules } };
}

/** Sample contexts share objects, so freeze them all: a caller mutating one would corrupt every preview. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The catalog is code, so its rules are checked as it loads: a wrong rule stops any process at start-up. */
function checked(types: NotificationTypeDef[]): NotificationTypeDef[] {
  const problems = types.flatMap(deliveryRuleProblems);
  if (problems.length > 0)
    throw new Error(`The notification catalog's delivery rules are wrong:\n- ${problems.join('\n- ')}`);
  return types;
}

export const NOTIFICATION_TYPES: readonly NotificationTypeDef[] = deepFreeze(
  checked(Object.entries(DEFS).map(([name, def]) => ({ name, ...withOrderCancelKey(name, def) }))),
);

export const NOTIFICATION_TYPE_NAMES: readonly string[] = NOTIFICATION_TYPES.map((def) => def.name);

const BY_NAME = new Map(NOTIFICATION_TYPES.map((def) => [def.name, def]));

export function getNotificationType(name: string): NotificationTypeDef | undefined {
  return BY_NAME.get(name);
}

/** Like getNotificationType, for inputs from outside: an unknown name is a 422 listing the valid ones. */
export function requireNotificationType(name: string): NotificationTypeDef {
  const def = BY_NAME.get(name);
  if (!def) {
    throw new AppError('UNKNOWN_NOTIFICATION_TYPE', `Unknown notification type "${name}"`, {
      accepted: NOTIFICATION_TYPE_NAMES,
    });
  }
  return def;
}
