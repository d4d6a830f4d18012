/**
 * The one classification of Twilio outcomes (API errors and failed-delivery callbacks): retry later,
 * give up, or the recipient opted out. Codes and meanings are from Twilio's error dictionary
 * (https://www.twilio.com/docs/api/errors); a code not listed here is classified by HTTP status.
 */
import { NOT_REACHED_SOCKET_ERRORS, type ProviderAnswer } from './routing/provider-answer.ts';

export type TwilioErrorClass = 'retryable' | 'permanent' | 'opted_out';

/** The Twilio codes this service knows (docs/errors.md lists them). */
export const TWILIO_ERRORS: Readonly<Record<number, { kind: TwilioErrorClass; text: string }>> = {
  20003: { kind: 'permanent', text: 'Authentication failed: check the account SID and auth token' },
  20429: { kind: 'retryable', text: 'Too many requests to the Twilio API' },
  21211: { kind: 'permanent', text: "Invalid 'To' phone number" },
  21408: { kind: 'permanent', text: 'SMS to this region is not enabled on the account' },
  21606: { kind: 'permanent', text: "The 'From' number cannot send SMS" },
  21608: { kind: 'permanent', text: 'Trial accounts can only send to verified numbers' },
  21610: { kind: 'opted_out', text: 'The recipient replied STOP and has opted out' },
  21611: { kind: 'retryable', text: "The sender's queue is full: too many messages queued" },
  21612: { kind: 'permanent', text: 'Twilio cannot route a message to this number' },
  21614: { kind: 'permanent', text: "'To' is not a mobile number" },
  30001: { kind: 'retryable', text: 'Queue overflow: the message waited too long in the sender queue' },
  30002: { kind: 'permanent', text: 'The Twilio account is suspended' },
  30003: { kind: 'retryable', text: 'Unreachable handset (off or out of coverage)' },
  30004: { kind: 'permanent', text: 'Message blocked (the recipient or carrier blocks it)' },
  30005: { kind: 'permanent', text: 'Unknown destination handset' },
  30006: { kind: 'permanent', text: 'Landline or unreachable carrier' },
  30007: { kind: 'permanent', text: 'Filtered by the carrier as spam or unregistered traffic' },
  30008: { kind: 'retryable', text: 'Unknown delivery error' },
  30009: { kind: 'retryable', text: 'A segment of the message went missing' },
  30010: { kind: 'permanent', text: 'The message price exceeds the MaxPrice set' },
  30032: { kind: 'permanent', text: 'Toll-free number is not verified' },
  30034: { kind: 'permanent', text: 'Message from an unregistered A2P 10DLC number' },
};

/**
 * Unknown codes fall back on the HTTP status: no status means the request never got an answer
 * (network, timeout) and 408/429/5xx are the server's trouble, so those are worth retrying; any
 * other answer (4xx) will not change by sending the same request again.
 */
export function classifyTwilioError(code: number | null | undefined, httpStatus?: number): TwilioErrorClass {
  const known = code == null ? undefined : TWILIO_ERRORS[code];
  if (known) return known.kind;
  if (httpStatus === undefined || httpStatus === 0) return 'retryable';
  if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) return 'retryable';
  return 'permanent';
}

export function isKnownTwilioError(code: number): boolean {
  return Object.hasOwn(TWILIO_ERRORS, code);
}

export function describeTwilioError(code: number | null | undefined): string {
  if (code == null) return 'No Twilio error code (network or HTTP failure)';
  return TWILIO_ERRORS[code]?.text ?? `Twilio error ${code}`;
}

/**
 * The one text an SMS failure records as `error_message`, whether Twilio refused the request (its
 * own `message`) or reported the failure later by callback or fetch (which carry the code, and
 * at most Twilio's text): `Twilio error 30003: Unreachable handset (off or out of coverage)`.
 */
export function twilioErrorMessage(code: number, twilioText?: string | null): string {
  return `Twilio error ${code}: ${twilioText || describeTwilioError(code)}`;
}

/**
 * A Twilio error code as Twilio's API types it (an integer), from a callback's form field; null for
 * absent, `0` or anything that is not one (Twilio never sends those).
 */
export function parseTwilioErrorCode(raw: string | null | undefined): number | null {
  if (raw == null || !/^[1-9]\d{0,8}$/.test(raw)) return null;
  return Number(raw);
}

/** Message statuses after which Twilio will not deliver this message any more. */
export function isFinalFailureStatus(status: string): boolean {
  return status === 'failed' || status === 'undelivered';
}

/** Refusals about the number itself: another provider would refuse it too, so no failover. */
const RECIPIENT_CODES = new Set([21211, 21610, 21612, 21614]);
const AUTH_CODES = new Set([20003, 30002]);
const THROTTLE_CODES = new Set([20429, 21611]);

/**
 * A Messages create's failure as the routing reads it (provider-answer.ts): Twilio's code and HTTP
 * status when it answered, else the socket error's code (`ECONNREFUSED`: not reached; a timeout
 * or a dropped connection: no answer, it may have sent).
 */
export function twilioAnswer(
  code: number | null,
  httpStatus: number | null,
  socketCode: string | undefined,
): Exclude<ProviderAnswer, { result: 'accepted' }> {
  if (httpStatus === null) {
    return socketCode && NOT_REACHED_SOCKET_ERRORS.has(socketCode)
      ? { result: 'not-reached' }
      : { result: 'no-answer' };
  }
  if (httpStatus >= 500) return { result: 'server-error' };
  if (code !== null && RECIPIENT_CODES.has(code)) return { result: 'refused', refusal: 'recipient' };
  if ((code !== null && AUTH_CODES.has(code)) || httpStatus === 401 || httpStatus === 403)
    return { result: 'refused', refusal: 'auth' };
  if ((code !== null && THROTTLE_CODES.has(code)) || httpStatus === 429)
    return { result: 'refused', refusal: 'throttled' };
  return { result: 'refused', refusal: 'other' };
}
