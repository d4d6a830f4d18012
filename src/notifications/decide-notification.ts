import { randomBytes } from 'node:crypto';
import type { NotificationTypeDef } from '../catalog/catalog.ts';
import type { IdempotencyClaim } from '../deliveries/enqueue.ts';
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
  const prefs = prefsFor(def, recipient);
  const { title, message } = d.text;
  const schedule = scheduleOf(def, input, user.timeZone, d.now);

  const policy = deliveryPolicy(deps.policy, {
    timeZone: user.timeZone,
    quietHours: recipient.quietHours,
    priority: def.priority,
    smsSent: d.smsSent,
    // Quiet hours are judged at the send time: a scheduled SMS due inside them waits for their end.
    now: schedule.sendAt ?? d.now,
  });
  const decisions = decideChannels({
    channels: def.channels,
    category: def.category,
    user,
    prefs,
    available: deps.availableChannels,
    smsCapReached: policy.smsCapReached,
    hasPushSubscription: recipient.hasPushSubscription,
  });

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
    deliveries: decisions.map((c) => {
      const next = c.status === 'queued' ? policy.firstAttemptAt(c.channel) : null;
      return {
        channel: c.channel,
        status: c.status,
        maxAttempts: deps.retryPolicies[c.channel].maxAttempts,
        nextAttemptAt: next,
        skipReason: c.status === 'skipped' ? c.reason : null,
        errorMessage: c.status === 'skipped' ? c.message : null,
        detail: c.status === 'queued' ? scheduledDetail(schedule, next) : null,
      };
    }),
    idempotency: d.idempotency,
    externalUserId: user.externalId,
  });
}

/** The channel choices that gate this type: channel-wide for the types gated by channel. */
function prefsFor(def: NotificationTypeDef, recipient: Recipient) {
  return def.gatedBy === 'channel'
    ? channelWidePreferences(recipient.prefs, def.category, def.channels)
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
