import type { ChannelName } from '../catalog/catalog.ts';
import type { DeliveryErrorCode, SkipReason } from './delivery-errors.ts';

/** Who a notification is for, as rendering and addressing need it. */
export interface RecipientProfile {
  externalId: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  locale: string;
  /** The effective zone (user-time-zone.ts): their own, else their phone's, else the default. */
  timeZone: string;
}

/** What the worker passes to a channel: the delivery plus what it needs to render and address it. */
export interface DeliveryJob {
  deliveryId: string;
  notificationId: string; // public notification id
  notificationType: string;
  channel: ChannelName;
  attempt: number; // 1 for the first attempt
  /**
   * This delivery's retry budget (attempts including the first), stored when it was queued: the
   * one number the worker, the reaper and provider statuses compare, whatever the policy is now.
   */
  maxAttempts: number;
  title: string;
  message: string;
  context: Record<string, unknown>;
  user: RecipientProfile & { id: string };
  /**
   * A previous attempt was cut off by a dead worker after it may have reached the provider:
   * the channel should look for that message before sending again (crash-safe sending).
   */
  outcomeUnknown: boolean;
  /** When the delivery was created: the earliest an earlier attempt can have been sent. */
  createdAt: Date;
  /**
   * The previous attempt's route as it stored it (`details.route`), or null before any: whom an
   * unknown outcome is reconciled with. A reaped attempt leaves only `requested_at` (the worker
   * died before it could say which provider it asked).
   */
  lastRoute?: AttemptRoute | null;
  /** Held back for the in-app message to be read (`details.escalation`): checked before it is sent. */
  escalation?: EscalationWait | null;
}

/** An escalated delivery's wait, as creation stored it (notifications/escalation-hold.ts). */
export interface EscalationWait {
  waits_for: 'in_app_read';
  /** ISO instant: the in-app message's send time + the rule's minutes. */
  until: string;
}

export interface AttemptRoute {
  provider?: string | null;
  /** ISO instant of the request, or the latest it can have been made. */
  requested_at?: string | null;
}

/**
 * What an attempt rendered, field by field (SMS `body`; email `subject`, `text`; push `title`,
 * `body`): kept on the delivery (`details.content`) so the console and the API show what the user
 * got, even after the template has changed. The in-app message is the notification's own title
 * and message.
 */
export type DeliveryContent = Record<string, string>;

export type SendResult =
  | {
      kind: 'sent';
      providerMessageId?: string;
      providerStatus?: string;
      /** Terminal at once (in-app: the inbox row is the delivery). */
      delivered?: boolean;
      costAmount?: number;
      costCurrency?: string;
      details?: Record<string, unknown>;
      content?: DeliveryContent;
      metadata?: Record<string, unknown>;
      /** For the delivery's history (its timeline): how it was sent, e.g. the provider chosen and why. */
      detail?: string;
    }
  | {
      kind: 'retryable';
      code: DeliveryErrorCode;
      message: string;
      retryAfterMs?: number;
      /**
       * The request may have reached the provider (no answer, timed out, 5xx): the next attempt
       * must look for the message before sending again, as after a dead worker.
       */
      outcomeUnknown?: boolean;
      details?: Record<string, unknown>;
      content?: DeliveryContent;
      metadata?: Record<string, unknown>;
    }
  | {
      kind: 'permanent';
      code: DeliveryErrorCode;
      message: string;
      details?: Record<string, unknown>;
      content?: DeliveryContent;
      metadata?: Record<string, unknown>;
    }
  | {
      kind: 'skipped';
      reason: SkipReason;
      message: string;
      metadata?: Record<string, unknown>;
      details?: Record<string, unknown>;
      /** For the delivery's history, when the reason needs more than its message (e.g. when it was read). */
      detail?: string;
    };

/**
 * The one interface every delivery channel implements. The worker never knows which provider is
 * behind a channel: it hands over a claimed delivery and gets one typed outcome back.
 */
export interface Channel {
  readonly name: ChannelName;
  send(job: DeliveryJob, signal: AbortSignal): Promise<SendResult>;
  /**
   * A lookup-only attempt (the retry budget ended on an unknown outcome): ask the provider whether
   * an earlier attempt went out, and answer the `sent` result to adopt, or null when the provider
   * has no such message. Never sends. Throws when the provider cannot be asked. Channels whose
   * provider cannot be asked leave it out (their policy allows no lookups).
   */
  lookup?(job: DeliveryJob, signal: AbortSignal): Promise<SendResult | null>;
}

/** The notification type of a campaign's messages (catalog: category promotions). */
export const CAMPAIGN_NOTIFICATION_TYPE = 'promo_offer';

/** Where a campaign's own templates are kept and looked up (notification_templates.type). */
export function campaignTemplateType(campaignId: string): string {
  return `campaign:${campaignId}`;
}

/**
 * The templates a delivery renders: a campaign's message (its context names the campaign,
 * src/campaigns) its campaign's own, any other its type's.
 */
export function templateTypeOf(job: Pick<DeliveryJob, 'notificationType' | 'context'>): string {
  const campaign = job.context.campaign as { id?: unknown } | undefined;
  return job.notificationType === CAMPAIGN_NOTIFICATION_TYPE && typeof campaign?.id === 'string'
    ? campaignTemplateType(campaign.id)
    : job.notificationType;
}
