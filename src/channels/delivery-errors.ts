import type { ChannelName } from '../catalog/catalog.ts';
import type { ErrorCode } from '../errors.ts';
import type { EmailErrorCode } from './email/smtp-errors.ts';
import type { PushErrorCode } from './push/push-errors.ts';
import { INVALID_PHONE_MESSAGE } from './sms/phone.ts';
import type { VonageErrorCode } from './sms/vonage/vonage-errors.ts';

/**
 * The delivery-error catalogue: every code the service writes to a delivery's `error_code` (and its
 * history) and every `skip_reason`, with its class, its meaning in plain words, what an operator can
 * do, and its anchor in docs/errors.md (whose section is generated from this file). It lives beside
 * the channel interface because channels write these codes and must not import from `deliveries/`.
 * Provider codes (Twilio's numbers, Vonage's `VONAGE_*`, SMTP replies, push HTTP statuses) stay in their channel's table;
 * `describeDeliveryError` (delivery-error-info.ts) reaches them all.
 */

/**
 * - `retryable`: the attempt failed for a reason that can pass; the delivery is tried again.
 * - `permanent`: sending again cannot help; the delivery is failed.
 * - `unknown_outcome`: the request may have reached the provider; the next attempt looks for the
 *   message before sending (and past the retry budget the provider is asked, never sent blind).
 * - `skip`: the delivery was never attempted (`skipped`, with this `skip_reason`).
 */
export type DeliveryErrorClass = 'retryable' | 'permanent' | 'unknown_outcome' | 'skip';

export interface DeliveryErrorEntry {
  class: DeliveryErrorClass;
  /** The channels that write it. */
  channels: readonly ChannelName[];
  meaning: string;
  fix: string;
}

const ALL: readonly ChannelName[] = ['in_app', 'sms', 'email', 'push'];
const RENDERED: readonly ChannelName[] = ['sms', 'email', 'push'];

/** Codes the service itself writes, whatever the provider (the worker, the queue, the send rate). */
const SERVICE_ERRORS = {
  NETWORK: {
    class: 'unknown_outcome',
    channels: ['sms'],
    meaning:
      'The SMS request got no Twilio error code (nor a Vonage status): no answer (network, timeout), an HTTP failure without a code, or SMS not configured on this worker.',
    fix: 'Nothing when it passes (retried, looked up before a resend). If it persists, check that the service reaches the provider (Twilio, Vonage) and that its settings are set.',
  },
  TIMEOUT: {
    class: 'unknown_outcome',
    channels: ALL,
    meaning: 'The send outlived its time limit (or the worker was stopping) and was cut off.',
    fix: 'Nothing when it passes (retried). If it persists, the provider is slow or unreachable: check its status and the network.',
  },
  CHANNEL_ERROR: {
    class: 'unknown_outcome',
    channels: ALL,
    meaning:
      'The channel threw an unexpected error (a bug or an unforeseen provider answer); the message is in the logs as "channel threw".',
    fix: 'Read the "channel threw" log line of the delivery and report it: this is a defect to fix, not a provider answer.',
  },
  SEND_RATE_LIMITED: {
    class: 'retryable',
    channels: ['sms'],
    meaning:
      "The sender number's send rate (SMS_SEND_RATE) was exhausted longer than a send may wait, so the attempt was put back.",
    fix: 'Nothing for a burst (retried later). If it is frequent, raise the sender’s rate with Twilio and SMS_SEND_RATE, or add senders.',
  },
  NO_SMS_PROVIDER: {
    class: 'retryable',
    channels: ['sms'],
    meaning:
      "No SMS provider of the destination's route could take the attempt: each is out of rotation (failing outright, waiting for its probe) or not configured; the message says which and why.",
    fix: "Nothing while a provider comes back (the attempt is retried when its probe is due). If it lasts, see GET /api/v1/sms/providers and the providers' status pages; check SMS_PROVIDERS and the route in SMS_ROUTING_FILE.",
  },
  ESCALATION_CHECK_FAILED: {
    class: 'retryable',
    channels: RENDERED,
    meaning:
      'An escalated delivery could not read whether its in-app message was read (the database did not answer), so it was not sent this time.',
    fix: 'Nothing when it passes (retried, checked again). If it persists, see the database’s health (/readyz).',
  },
  LOOKUP_FAILED: {
    class: 'unknown_outcome',
    channels: ['sms'],
    meaning:
      'Every attempt ended in doubt and the provider could not tell either whether one was sent (Twilio could not be asked; Vonage sent no receipt yet within VONAGE_RECONCILE_WINDOW_MS); the delivery keeps details.outcome_unknown: true.',
    fix: "Check the message in the provider's console (details.route.provider; Twilio: Messages, by number and time). The lookup is asked again while its budget lasts.",
  },
  NOT_SENT: {
    class: 'permanent',
    channels: ['sms'],
    meaning:
      'Every attempt failed in doubt and the provider, asked afterwards, has no such message (Twilio: none listed; Vonage: no receipt within VONAGE_RECONCILE_WINDOW_MS): it was not sent.',
    fix: 'See each attempt in the delivery history for the cause; resend the notification once it is fixed.',
  },
  LEASE_EXPIRED: {
    class: 'unknown_outcome',
    channels: ALL,
    meaning:
      'The worker stopped mid-attempt (crash, kill) on the last attempt or lookup allowed, so the outcome stays unknown.',
    fix: "Find why the worker died (its logs, memory); check the provider's console for the message before resending.",
  },
} as const satisfies Record<string, DeliveryErrorEntry>;

/** smtp-errors.ts maps SMTP replies and socket errors to these. */
const EMAIL_ERRORS: Record<EmailErrorCode, DeliveryErrorEntry> = {
  EMAIL_CONNECTION_FAILED: {
    class: 'retryable',
    channels: ['email'],
    meaning: 'The SMTP server could not be reached or the connection broke before it replied.',
    fix: 'Nothing when it passes (retried). If it persists, check SMTP_URL (host, port, TLS) and the network.',
  },
  EMAIL_DEFERRED: {
    class: 'retryable',
    channels: ['email'],
    meaning: 'The SMTP server answered with a transient 4xx reply (or 503): try later.',
    fix: "Nothing when it passes (retried). If it persists, read the reply in the delivery's metadata (smtp_code, response).",
  },
  EMAIL_BOUNCED: {
    class: 'permanent',
    channels: ['email'],
    meaning: "The recipient's mailbox does not exist or is unavailable (550, 551 or 553 to the recipient).",
    fix: 'Ask the user to correct their email address.',
  },
  EMAIL_REJECTED: {
    class: 'permanent',
    channels: ['email'],
    meaning: 'The SMTP server refused the message with a permanent 5xx reply (policy, content, sender).',
    fix: "Read the reply in the delivery's metadata; fix the sender address (EMAIL_FROM), its SPF/DKIM or the content.",
  },
  EMAIL_AUTH_FAILED: {
    class: 'permanent',
    channels: ['email'],
    meaning: 'The SMTP server refused our login (or asked for one we do not have).',
    fix: 'Check the user and password in SMTP_URL.',
  },
  EMAIL_INVALID: {
    class: 'permanent',
    channels: ['email'],
    meaning:
      'Nodemailer refused the message itself (bad address, too large, bad options): no server would take it.',
    fix: "Check the user's address and the email template's size.",
  },
  EMAIL_ERROR: {
    class: 'retryable',
    channels: ['email'],
    meaning: 'An SMTP failure of no known kind; retried, as a lost email is worse than a retry.',
    fix: 'Read the delivery history and the logs; report the error if it recurs.',
  },
};

/** push-errors.ts maps push services' HTTP answers to these. */
const PUSH_ERRORS: Record<PushErrorCode, DeliveryErrorEntry> = {
  PUSH_SUBSCRIPTION_GONE: {
    class: 'permanent',
    channels: ['push'],
    meaning:
      'Every push subscription of the user is gone (404/410: unsubscribed or expired); they were removed.',
    fix: 'Nothing: the browser subscribes again when the user allows notifications.',
  },
  PUSH_SUBSCRIPTION_INVALID: {
    class: 'permanent',
    channels: ['push'],
    meaning:
      'A stored push subscription has unusable keys (p256dh not a P-256 point, or auth not 16 bytes); it was removed without a request.',
    fix: 'Nothing: the browser subscribes again with valid keys.',
  },
  PUSH_RATE_LIMITED: {
    class: 'retryable',
    channels: ['push'],
    meaning: 'The push service asked us to slow down (429).',
    fix: 'Nothing (retried after Retry-After).',
  },
  PUSH_SERVICE_ERROR: {
    class: 'retryable',
    channels: ['push'],
    meaning: 'The push service failed (5xx).',
    fix: 'Nothing when it passes (retried).',
  },
  PUSH_NETWORK_ERROR: {
    class: 'retryable',
    channels: ['push'],
    meaning: 'The push service could not be reached.',
    fix: 'Nothing when it passes (retried). If it persists, check outbound HTTPS from the service.',
  },
  PUSH_PAYLOAD_TOO_LARGE: {
    class: 'permanent',
    channels: ['push'],
    meaning: 'The push message is larger than the push service accepts (413).',
    fix: 'Shorten the push template (push_title, push_body).',
  },
  PUSH_UNAUTHORIZED: {
    class: 'permanent',
    channels: ['push'],
    meaning: 'The push service refused our VAPID token (401/403): the keys do not match the subscription.',
    fix: 'Check VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT; subscriptions made with other keys must subscribe again.',
  },
  PUSH_REJECTED: {
    class: 'permanent',
    channels: ['push'],
    meaning: 'The push service refused the request (another 4xx).',
    fix: 'Read the logs for the status; report it if it recurs.',
  },
};

/** API error codes (errors.ts) a delivery fails with when its message cannot be composed. */
const COMPOSE_ERRORS = {
  TEMPLATE_MISSING_VAR: {
    class: 'permanent',
    channels: RENDERED,
    meaning:
      'A variable the template prints is missing from the notification context (the message names it).',
    fix: 'Send the variable in the event or notification data, or change the template.',
  },
  TEMPLATE_INVALID: {
    class: 'permanent',
    channels: RENDERED,
    meaning: 'The template does not parse or rendered to an empty message.',
    fix: 'Fix the template (`load-notification-templates` parses every template and names the error).',
  },
  TEMPLATE_NOT_FOUND: {
    class: 'permanent',
    channels: RENDERED,
    meaning: 'The notification type has no template for this channel.',
    fix: 'Add the template (templates/<locale>/<type>.json) and load it.',
  },
  TEMPLATE_LIMIT_EXCEEDED: {
    class: 'permanent',
    channels: RENDERED,
    meaning:
      'Rendering the template hit a limit (parse size, memory or output size). Running out of render time is retried instead (CHANNEL_ERROR): the limit is wall-clock, and a loaded machine can cause it.',
    fix: 'Simplify the template or shorten the data it loops over.',
  },
  SMS_DLT_MISMATCH: {
    class: 'permanent',
    channels: ['sms'],
    meaning: 'The SMS text no longer matches its registered India DLT template, so carriers would drop it.',
    fix: 'Make the SMS template match its dlt_text, or register the new text.',
  },
  TEMPLATE_LINK_NOT_ALLOWED: {
    class: 'permanent',
    channels: RENDERED,
    meaning:
      'The template tracks a link whose target is not allowed (not http(s), or a host outside TRACKED_LINK_HOSTS), or tracks a link outside an SMS.',
    fix: 'Link only to allowed hosts (docs/tracked-links.md), or add the host to TRACKED_LINK_HOSTS.',
  },
  MEDIA_URL_REFUSED: {
    class: 'permanent',
    channels: ['sms'],
    meaning:
      'A media URL of the SMS failed the check before sending: not https on an MMS_MEDIA_HOSTS host, not an image (JPEG, PNG, GIF), larger than MMS_MAX_MEDIA_BYTES or of unknown size, or its host refused it (4xx).',
    fix: 'Send image URLs the media host serves with their type and size (docs/mms.md).',
  },
} as const satisfies Partial<Record<ErrorCode, DeliveryErrorEntry>>;

export const DELIVERY_ERRORS = { ...SERVICE_ERRORS, ...EMAIL_ERRORS, ...PUSH_ERRORS, ...COMPOSE_ERRORS };
export type CatalogueErrorCode = keyof typeof DELIVERY_ERRORS;

/** Twilio's numeric error code, as the SMS channel records it (`"30003"`). */
export type TwilioErrorCode = `${number}`;

/**
 * What a channel may record as `error_code`. A catalogued code, a Twilio or Vonage code, or an API
 * error code raised while composing (the catalogued ones above; any other falls back to the API catalogue).
 */
export type DeliveryErrorCode = CatalogueErrorCode | TwilioErrorCode | VonageErrorCode | ErrorCode;

export function twilioErrorCode(code: number): TwilioErrorCode {
  return `${code}`;
}

interface SkipEntry {
  /** The `error_message` recorded with it, its `{placeholders}` filled in by the writer. */
  message: string;
  meaning: string;
  fix: string;
}

/**
 * Why a delivery was skipped (`skip_reason`), decided at creation (notifications/eligibility.ts) or
 * by the channel, the digest or an opt-out. Reasons in the seed's no-retry list are never retried.
 */
export const SKIP_REASONS = {
  disabled_by_user: {
    message: 'User has disabled {channel} notifications',
    meaning: 'The user turned this channel off for the category (or replied STOP to an SMS).',
    fix: 'Nothing: it is their choice. They can turn it on in their preferences (or reply START).',
  },
  no_phone: {
    message: 'User {email} has no phone number. Skipping SMS.',
    meaning: 'The user has no phone number.',
    fix: "Add the user's phone number (E.164, +country code).",
  },
  invalid_phone: {
    message: INVALID_PHONE_MESSAGE,
    meaning: "The user's phone number is not a valid E.164 number.",
    fix: "Correct the user's phone number (+ and country code).",
  },
  no_email: {
    message: 'User has no email address. Skipping email.',
    meaning: 'The user has no email address.',
    fix: "Add the user's email address.",
  },
  no_push_subscription: {
    message: 'User has no push subscription. Skipping push.',
    meaning: 'No browser of the user subscribed to Web Push.',
    fix: 'Nothing: the user subscribes by allowing notifications in the console.',
  },
  sms_not_configured: {
    message: 'SMS service not configured',
    meaning: 'The service has no Twilio settings, so it cannot send SMS.',
    fix: 'Set the Twilio settings (docs/sms.md).',
  },
  channel_unavailable: {
    message: 'The {channel} channel is not configured on this service',
    meaning: 'The channel is not configured or not running on this service.',
    fix: 'Configure the channel (docs/configuration.md).',
  },
  cap_reached: {
    message: 'SMS cap reached for this user',
    meaning: 'The user reached their daily or monthly SMS cap.',
    fix: 'Nothing, or raise the caps (docs/preferences.md).',
  },
  read_in_app: {
    message: 'The in-app message was read before the {channel} was due: not sent',
    meaning:
      'The type escalates (docs/templates.md): this channel waited for the in-app message to be read, and it was read before the send, so it was never sent or paid for (the history says when it was read).',
    fix: 'Nothing: the rule saved the send.',
  },
  digested: {
    message: 'Sent in one digest with other notifications',
    meaning: 'The notification went out inside another delivery’s digest email.',
    fix: 'Nothing: see the carrier delivery named in the message.',
  },
  superseded: {
    message: 'superseded by {notification}',
    meaning:
      'A newer notification of the same type and collapse key (e.g. the same order) was stored for the user while this one was still queued; only the newest is sent.',
    fix: 'Nothing: see the newer notification named in the message.',
  },
  throttled: {
    message:
      'throttled: at most one {type} per user every {minutes} min; {notification} holds the window until {until}',
    meaning:
      "The type's throttle window (docs/templates.md) was already held for this user by an earlier notification of the type, so nothing of this one was sent.",
    fix: 'Nothing: the next one of the type after the window is sent.',
  },
  cancelled: {
    message: 'Cancelled before it was sent',
    meaning:
      'The notification was cancelled while this delivery waited (by its id, or by its cancel key, e.g. the order number when the order was cancelled); the message says which.',
    fix: 'Nothing: create it again if it is still wanted.',
  },
} as const satisfies Record<string, SkipEntry>;
export type SkipReason = keyof typeof SKIP_REASONS;

/** The `error_message` of a skip: the reason's text with its placeholders filled in. */
export function skipMessage(reason: SkipReason, fill: { channel?: string; email?: string } = {}): string {
  return SKIP_REASONS[reason].message
    .replace('{channel}', fill.channel ?? 'this channel')
    .replace('{email}', fill.email ?? '(no email)');
}
