import { randomBytes } from 'node:crypto';
import type { ChannelName, NotificationTypeDef } from '../catalog/catalog.ts';
import type { IdempotencyClaim, NewDelivery } from '../deliveries/enqueue.ts';
import type { SmsSent } from '../deliveries/read-deliveries.ts';
import { AppError } from '../errors.ts';
import { deliveryPolicy } from '../preferences/delivery-policy.ts';
import { channelWidePreferences, isChannelEnabled } from '../preferences/preference-map.ts';
import { buildTemplateContext } from '../templates/render.ts';
import { renderTemplate } from '../templates/render-pool.ts';
import type {
  CreateNotificationDeps,
  CreateNotificationInput,
  PreparedNotification,
} from './create-notification.ts';
import { decideChannels } from './eligibility.ts';
import { holdForEscalation } from './escalation-hold.ts';
import type { Recipient } from './recipient.ts';
import { scheduledDetail, scheduleOf } from './schedule.ts';
import { collapseKeyOf } from './store-with-rules.ts';

/** The in-app title and message: the request's own, or the user's templates rendered with the context. */
export interface InAppText {
  title: string;
  message: string;
}

/** Renders a notification's in-app text (on the render threads; see templates/render-pool.ts). */
export async function renderInAppText(
  deps: CreateNotificationDeps,
  def: NotificationTypeDef,
  user: Recipient['user'],
  input: CreateNotificationInput,
): Promise<InAppText> {
  const templateContext = buildTemplateContext(user, input.context);
  const render = async (field: 'in_app_title' | 'in_app_body', override: string | undefined) => {
    if (override) return override;
    const template = deps.templates.get(def.name, field, user.locale);
    if (!template) throw new AppError('TEMPLATE_NOT_FOUND', `No ${field} template for ${def.name}`);
    return renderTemplate(template.source, templateContext);
  };
  const [title, message] = await Promise.all([
    render('in_app_title', input.title),
    render('in_app_body', input.message),
  ]);
  return { title, message };
}

/**
 * One notification's decision from what was read and rendered for it: each channel's eligibility,
 * quiet hours and the SMS cap (`smsSent`: its user's SMS so far, when the cap applies). Pure but
 * for the random id.
 */
export function decideNotification(
  deps: CreateNotificationDeps,
  d: {
    input: CreateNotificationInput;
    def: NotificationTypeDef;
    recipient: Recipient;
    text: InAppText;
    idempotency: IdempotencyClaim | undefined;
    smsSent: SmsSent | undefined;
    now: Date;
  },
): Extract<PreparedNotification, { kind: 'new' }> {
  const { input, def, recipient } = d;
  const { user } = recipient;
  const { title, message } = d.text;
  const schedule = scheduleOf(def, input, user.timeZone, d.now);
  // Quiet hours are judged at the send time: a scheduled SMS due inside them waits for their end.
  const decided = decideDeliveries(deps, def, recipient, def.channels, d.smsSent, schedule.sendAt ?? d.now);

  return holdForEscalation(def, {
    kind: 'new',
    notification: {
      notificationId: `ntf_${randomBytes(12).toString('base64url')}`,
      userId: user.id,
      type: def.name,
      category: def.category,
      priority: def.priority,
      title,
      message,
      context: input.context,
      collapseKey: collapseKeyOf(def, input.context),
      sendAt: schedule.sendAt,
      cancelKey: schedule.cancelKey,
    },
    deliveries: decided.map((delivery) => ({
      ...delivery,
      detail: delivery.status === 'queued' ? scheduledDetail(schedule, delivery.nextAttemptAt) : null,
    })),
    idempotency: d.idempotency,
    externalUserId: user.externalId,
  });
}

/**
 * Each of `channels`' first state for this recipient — allowed and due when (quiet hours, the SMS
 * cap, judged at `at`), or skipped and why — as at creation; the fallback pass decides its channel
 * the same way (notifications/fallback-pass.ts).
 */
export function decideDeliveries(
  deps: Pick<CreateNotificationDeps, 'policy' | 'availableChannels' | 'retryPolicies'>,
  def: NotificationTypeDef,
  recipient: Recipient,
  channels: readonly ChannelName[],
  smsSent: SmsSent | undefined,
  at: Date,
): NewDelivery[] {
  const { user } = recipient;
  const policy = deliveryPolicy(deps.policy, {
    timeZone: user.timeZone,
    quietHours: recipient.quietHours,
    priority: def.priority,
    smsSent,
    now: at,
  });
  const decisions = decideChannels({
    channels,
    category: def.category,
    user,
    prefs: prefsFor(def, recipient, channels),
    available: deps.availableChannels,
    smsCapReached: policy.smsCapReached,
    hasPushSubscription: recipient.hasPushSubscription,
  });
  return decisions.map((c) => ({
    channel: c.channel,
    status: c.status,
    maxAttempts: deps.retryPolicies[c.channel].maxAttempts,
    nextAttemptAt: c.status === 'queued' ? policy.firstAttemptAt(c.channel) : null,
    skipReason: c.status === 'skipped' ? c.reason : null,
    errorMessage: c.status === 'skipped' ? c.message : null,
  }));
}

/** The channel choices that gate this type: channel-wide (over `channels`) for the types gated by channel. */
function prefsFor(def: NotificationTypeDef, recipient: Recipient, channels = def.channels) {
  return def.gatedBy === 'channel'
    ? channelWidePreferences(recipient.prefs, def.category, channels)
    : recipient.prefs;
}

/** Whether an SMS would go out but for the cap: then the user's sends are counted. */
export function wantsSms(def: NotificationTypeDef, recipient: Recipient): boolean {
  return (
    def.channels.includes('sms') &&
    !!recipient.user.phone &&
    isChannelEnabled(prefsFor(def, recipient), def.category, 'sms')
  );
}
