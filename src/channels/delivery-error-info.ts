import type { ChannelName } from '../catalog/catalog.ts';
import { ERRORS, ERRORS_PAGE, type ErrorCode, errorAnchor } from '../errors.ts';
import {
  type CatalogueErrorCode,
  DELIVERY_ERRORS,
  type DeliveryErrorClass,
  type DeliveryErrorEntry,
  SKIP_REASONS,
  type SkipReason,
} from './delivery-errors.ts';
import { describeSmtpReply } from './email/smtp-errors.ts';
import { classifyPushStatus, describePushStatus } from './push/push-errors.ts';
import { classifyTwilioError, isKnownTwilioError, twilioErrorMessage } from './sms/twilio-errors.ts';
import {
  parseVonageErrorCode,
  VONAGE_RECEIPT_ERRORS,
  VONAGE_SEND_STATUSES,
  vonageReceiptError,
  vonageSendStatus,
} from './sms/vonage/vonage-errors.ts';

/**
 * What a recorded failure means, for the console, the stats and the timeline: the catalogue's
 * entries (delivery-errors.ts) first, then the channel's own provider table (Twilio's numbers,
 * Vonage's codes, SMTP replies, push HTTP statuses), with each code's docs anchor.
 */

/** `LEASE_EXPIRED` → `delivery-error-lease-expired`; `no_phone` → `skip-reason-no-phone`. */
export function deliveryErrorAnchor(code: string): string {
  const slug = code.toLowerCase().replaceAll('_', '-');
  return code in SKIP_REASONS ? `skip-reason-${slug}` : `delivery-error-${slug}`;
}

const DOCS = 'docs/errors.md';

export interface DeliveryErrorInfo {
  code: string;
  class: DeliveryErrorClass;
  meaning: string;
  fix: string;
  /**
   * Where it is documented: `docs/errors.md#…`; an API error code's row on the served `/errors`
   * page; Twilio's own page for a Twilio code.
   */
  docs: string;
  /** False when nothing knows the code (a stored value from another version, a provider's new code). */
  known: boolean;
}

/**
 * What a recorded failure means, for a console or a stats page: `code` is a delivery's `error_code`
 * or, for a skipped one, its `skip_reason`. Catalogued codes first, then the channel's provider
 * table: Twilio's numbers for SMS, an SMTP reply code (`"550"`) for email, a push service's HTTP
 * status (`"410"`) for push. Never throws.
 */
export function describeDeliveryError(channel: ChannelName, code: string): DeliveryErrorInfo {
  const docs = `${DOCS}#${deliveryErrorAnchor(code)}`;
  if (Object.hasOwn(SKIP_REASONS, code)) {
    const { meaning, fix } = SKIP_REASONS[code as SkipReason];
    return { code, class: 'skip', meaning, fix, docs, known: true };
  }
  if (Object.hasOwn(DELIVERY_ERRORS, code)) {
    const entry: DeliveryErrorEntry = DELIVERY_ERRORS[code as CatalogueErrorCode];
    return { code, class: entry.class, meaning: entry.meaning, fix: entry.fix, docs, known: true };
  }
  if (Object.hasOwn(ERRORS, code)) {
    const title = ERRORS[code as ErrorCode].title;
    return {
      code,
      class: 'permanent',
      meaning: `${title} (raised while composing the message).`,
      fix: 'See the API error of the same code.',
      docs: `${ERRORS_PAGE}#${errorAnchor(code as ErrorCode)}`,
      known: true,
    };
  }
  const vonage = channel === 'sms' ? parseVonageErrorCode(code) : undefined;
  if (vonage) return describeVonage(code, vonage);
  const numeric = /^[1-9]\d{0,8}$/.test(code) ? Number(code) : null;
  if (numeric !== null && channel === 'sms') return describeTwilio(code, numeric);
  if (numeric !== null && channel === 'email') {
    const reply = describeSmtpReply(numeric);
    if (reply) return viaCatalogue(code, reply.code, `SMTP reply ${code}: ${reply.text}.`);
  }
  if (numeric !== null && channel === 'push') {
    const outcome = classifyPushStatus(numeric);
    if (outcome.kind !== 'accepted') {
      return viaCatalogue(
        code,
        outcome.code,
        `Push service answered HTTP ${code}: ${describePushStatus(numeric)}.`,
      );
    }
  }
  return {
    code,
    class: 'permanent',
    meaning: `Unknown code ${code} for the ${channel} channel.`,
    fix: 'Read the delivery history and the logs.',
    docs: `${DOCS}#delivery-error-codes`,
    known: false,
  };
}

/** A provider code whose class, fix and docs are those of the catalogued code it maps to. */
function viaCatalogue(code: string, mapped: CatalogueErrorCode, meaning: string): DeliveryErrorInfo {
  const entry: DeliveryErrorEntry = DELIVERY_ERRORS[mapped];
  return {
    code,
    class: entry.class,
    meaning: `${meaning} Recorded as ${mapped}: ${entry.meaning}`,
    fix: entry.fix,
    docs: `${DOCS}#${deliveryErrorAnchor(mapped)}`,
    known: true,
  };
}

const TWILIO_FIX = {
  retryable:
    'Nothing when it passes (retried while the budget lasts); if it persists, see Twilio’s page for the code.',
  permanent:
    'Sending again will not help: fix the cause named on Twilio’s page (number, account, sender, content).',
  opted_out: 'Nothing: the user replied STOP and their SMS was turned off; they can reply START.',
} as const;

function describeTwilio(code: string, numeric: number): DeliveryErrorInfo {
  const kind = classifyTwilioError(numeric);
  return {
    code,
    class: kind === 'retryable' ? 'retryable' : 'permanent',
    meaning: `${twilioErrorMessage(numeric)}.`,
    fix: TWILIO_FIX[kind],
    docs: `https://www.twilio.com/docs/api/errors/${code}`,
    known: isKnownTwilioError(numeric),
  };
}

/** Vonage's pages for its two tables: the SMS API's `status` and the receipts' `err-code`. */
export const VONAGE_DOCS = {
  send: 'https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms',
  receipt: 'https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts',
} as const;

const VONAGE_FIX = {
  retryable:
    'Nothing when it passes (retried, or sent through the other provider); if it persists, see Vonage’s page for the code.',
  permanent:
    'Sending again through Vonage will not help: fix the cause on Vonage’s page (number, account, sender, DLT registration).',
} as const;

function describeVonage(
  code: string,
  { table, number }: { table: 'send' | 'receipt'; number: number },
): DeliveryErrorInfo {
  const entry = table === 'send' ? vonageSendStatus(number) : vonageReceiptError(number);
  const known = Object.hasOwn(table === 'send' ? VONAGE_SEND_STATUSES : VONAGE_RECEIPT_ERRORS, number);
  return {
    code,
    class: entry.class,
    meaning: `Vonage ${table === 'send' ? 'status' : 'receipt error'} ${number}: ${entry.text}.`,
    fix: VONAGE_FIX[entry.class],
    docs: VONAGE_DOCS[table],
    known,
  };
}
