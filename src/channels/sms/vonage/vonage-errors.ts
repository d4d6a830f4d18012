/**
 * Vonage's two code tables as this service reads them: the `status` the SMS API answers per part at
 * send time, and the `err-code` a delivery receipt carries. Each code has Vonage's meaning, whether
 * sending again can help (`retryable` / `permanent`), and, for send statuses, what it says to the
 * routing (`ProviderAnswer`). A delivery records them as `VONAGE_<status>` and `VONAGE_DLR_<err-code>`:
 * Vonage's small numbers would read as Twilio codes if recorded bare. Meanings are Vonage's
 * (developer.vonage.com, SMS API errors and delivery receipt error codes).
 */
import type { ProviderAnswer } from '../routing/provider-answer.ts';

export type VonageErrorClass = 'retryable' | 'permanent';

export interface VonageSendStatus {
  text: string;
  class: VonageErrorClass;
  answer: Exclude<ProviderAnswer, { result: 'accepted' }>;
}

const refused = (refusal: Extract<ProviderAnswer, { result: 'refused' }>['refusal']) =>
  ({ result: 'refused', refusal }) as const;

/** SMS API `status` (0 is success). Recipient refusals are not failed over: another provider would refuse too. */
export const VONAGE_SEND_STATUSES: Readonly<Record<number, VonageSendStatus>> = {
  1: {
    text: 'Throttled: sending faster than the account allows',
    class: 'retryable',
    answer: refused('throttled'),
  },
  2: { text: 'Missing parameters', class: 'permanent', answer: refused('other') },
  3: { text: 'Invalid parameters', class: 'permanent', answer: refused('other') },
  4: {
    text: 'Invalid credentials: check the API key and secret',
    class: 'permanent',
    answer: refused('auth'),
  },
  // The platform failed on its side; Vonage does not say whether the part went out.
  5: { text: 'Internal error at Vonage', class: 'retryable', answer: { result: 'server-error' } },
  // Vonage's own example: an unrecognised prefix for the phone number.
  6: {
    text: 'Invalid message: the number could not be routed',
    class: 'permanent',
    answer: refused('recipient'),
  },
  7: {
    text: 'Number barred: the recipient is on the barred list',
    class: 'permanent',
    answer: refused('recipient'),
  },
  8: { text: 'The Vonage account is barred', class: 'permanent', answer: refused('auth') },
  9: { text: 'Quota exceeded: the account balance is too low', class: 'retryable', answer: refused('other') },
  10: { text: 'Too many existing binds', class: 'retryable', answer: refused('throttled') },
  11: { text: 'The account is not enabled for the HTTP API', class: 'permanent', answer: refused('auth') },
  12: { text: 'Message too long', class: 'permanent', answer: refused('other') },
  14: { text: 'Invalid request signature', class: 'permanent', answer: refused('auth') },
  15: { text: 'Invalid sender address (VONAGE_FROM)', class: 'permanent', answer: refused('other') },
  22: { text: 'Invalid network code', class: 'permanent', answer: refused('other') },
  23: { text: 'Invalid callback URL', class: 'permanent', answer: refused('other') },
  // A trial account may only send to whitelisted numbers: the account's limit, not the number's.
  29: { text: 'Non-whitelisted destination (trial account)', class: 'permanent', answer: refused('other') },
  32: { text: 'Signature and API secret both sent', class: 'permanent', answer: refused('auth') },
  33: { text: 'Number de-activated', class: 'permanent', answer: refused('recipient') },
};

/** A status Vonage adds later: an answer, not a transport failure, so nothing was sent. */
const UNKNOWN_SEND_STATUS: VonageSendStatus = {
  text: 'Unknown Vonage status',
  class: 'permanent',
  answer: refused('other'),
};

export function vonageSendStatus(status: number): VonageSendStatus {
  return VONAGE_SEND_STATUSES[status] ?? UNKNOWN_SEND_STATUS;
}

/** Delivery receipt `err-code` (0 on delivered and intermediate receipts). */
export const VONAGE_RECEIPT_ERRORS: Readonly<Record<number, { text: string; class: VonageErrorClass }>> = {
  1: { text: 'Unknown error from the carrier', class: 'retryable' },
  2: { text: 'Absent subscriber (temporary): handset off or out of coverage', class: 'retryable' },
  3: { text: 'Absent subscriber (permanent): the number is not in use', class: 'permanent' },
  4: { text: 'Barred by the user', class: 'permanent' },
  5: { text: 'Portability error', class: 'permanent' },
  6: { text: 'Anti-spam rejection', class: 'permanent' },
  7: { text: 'Handset busy', class: 'retryable' },
  8: { text: 'Network error', class: 'retryable' },
  9: { text: 'Illegal number', class: 'permanent' },
  10: { text: 'Illegal message', class: 'permanent' },
  11: { text: 'Unroutable', class: 'permanent' },
  12: { text: 'Destination unreachable', class: 'permanent' },
  13: { text: 'Subscriber age restriction', class: 'permanent' },
  14: { text: 'Number blocked by the carrier', class: 'permanent' },
  15: { text: "Pre-paid: the recipient's balance is too low", class: 'retryable' },
  16: { text: 'Gateway quota exceeded', class: 'retryable' },
  50: { text: 'India DLT: entity filter (the entity id is not registered)', class: 'permanent' },
  51: { text: 'India DLT: header filter (the sender id is not registered)', class: 'permanent' },
  52: { text: 'India DLT: content filter (the text does not match its template)', class: 'permanent' },
  53: { text: 'India DLT: consent filter (no consent from the recipient)', class: 'permanent' },
  54: { text: 'Regulation error', class: 'permanent' },
  99: { text: 'General error', class: 'retryable' },
};

export function vonageReceiptError(errCode: number): { text: string; class: VonageErrorClass } {
  return VONAGE_RECEIPT_ERRORS[errCode] ?? { text: `Vonage receipt error ${errCode}`, class: 'retryable' };
}

/** What a delivery records: `VONAGE_4` (send status), `VONAGE_DLR_2` (receipt err-code). */
export type VonageErrorCode = `VONAGE_${number}` | `VONAGE_DLR_${number}`;

export function vonageSendErrorCode(status: number): VonageErrorCode {
  return `VONAGE_${status}`;
}

export function vonageReceiptErrorCode(errCode: number): VonageErrorCode {
  return `VONAGE_DLR_${errCode}`;
}

/** `VONAGE_4` → the send status 4, `VONAGE_DLR_2` → the receipt err-code 2; undefined for anything else. */
export function parseVonageErrorCode(
  code: string,
): { table: 'send' | 'receipt'; number: number } | undefined {
  const m = /^VONAGE_(DLR_)?([1-9]\d{0,3})$/.exec(code);
  return m ? { table: m[1] ? 'receipt' : 'send', number: Number(m[2]) } : undefined;
}

/**
 * The one text a Vonage failure records as `error_message`, Vonage's own `error-text` kept when it
 * gave one: `Vonage status 4: Bad Credentials`.
 */
export function vonageErrorMessage(status: number, vonageText?: string | null): string {
  return `Vonage status ${status}: ${vonageText || vonageSendStatus(status).text}`;
}

export function vonageReceiptErrorMessage(errCode: number): string {
  return `Vonage receipt error ${errCode}: ${vonageReceiptError(errCode).text}`;
}
