/**
 * Vonage's two code tables: the `status` the SMS API answers for each message at send time, and the
 * `err-code` a delivery receipt carries. Meanings as Vonage documents them (developer.vonage.com
 * api-errors/sms; Vonage support "SMS Delivery Error Codes").
 */

/** SMS API `status` values: "0" is success, anything else a refusal with `error-text`. */
export const SEND_STATUSES = {
  0: 'Success',
  1: 'Throttled',
  2: 'Missing Parameters',
  3: 'Invalid Parameters',
  4: 'Invalid Credentials',
  5: 'Internal Error',
  6: 'Invalid Message',
  7: 'Number Barred',
  8: 'Partner Account Barred',
  9: 'Partner Quota Violation',
  10: 'Too Many Existing Binds',
  11: 'Account Not Enabled For HTTP',
  12: 'Message Too Long',
  14: 'Invalid Signature',
  15: 'Invalid Sender Address',
  22: 'Invalid Network Code',
  23: 'Invalid Callback Url',
  29: 'Non-Whitelisted Destination',
  32: 'Signature And API Secret Disallowed',
  33: 'Number De-activated',
} as const;

export type SendStatus = keyof typeof SEND_STATUSES;

/** Refusals a fault can inject (every status but success). */
export const REFUSAL_STATUSES = Object.keys(SEND_STATUSES)
  .map(Number)
  .filter((s) => s !== 0) as Exclude<SendStatus, 0>[];

/** Delivery receipt `err-code` values: "0" on a delivered or intermediate receipt. */
export const RECEIPT_ERR_CODES = {
  0: 'Delivered',
  1: 'Unknown',
  2: 'Absent Subscriber - Temporary',
  3: 'Absent Subscriber - Permanent',
  4: 'Call Barred by User',
  5: 'Portability Error',
  6: 'Anti-Spam Rejection',
  7: 'Handset Busy',
  8: 'Network Error',
  9: 'Illegal Number',
  10: 'Illegal Message',
  11: 'Unroutable',
  12: 'Destination Unreachable',
  13: 'Subscriber Age Restriction',
  14: 'Number Blocked by Carrier',
  15: 'Pre-Paid - Insufficient Funds',
  16: 'Gateway Quota Exceeded',
  50: 'Entity Filter',
  51: 'Header Filter',
  52: 'Content Filter',
  53: 'Consent Filter',
  54: 'Regulation Error',
  99: 'General Error',
} as const;

export type ReceiptErrCode = keyof typeof RECEIPT_ERR_CODES;

/** Failure codes a fault can end a walk with (every code but delivered). */
export const FAILURE_ERR_CODES = Object.keys(RECEIPT_ERR_CODES)
  .map(Number)
  .filter((c) => c !== 0) as Exclude<ReceiptErrCode, 0>[];

/** A failed walk with no code configured: the handset was unreachable, as Twilio's 30003 default. */
export const DEFAULT_FAILURE_ERR_CODE: ReceiptErrCode = 2;

/** One refused entry of `messages[]`; `detail` names the parameter where Vonage does. */
export function refusal(status: Exclude<SendStatus, 0>, detail?: string) {
  return { status: String(status), 'error-text': detail ?? SEND_STATUSES[status] };
}

export type Refusal = ReturnType<typeof refusal>;

export function receiptErrorText(code: number): string | null {
  return RECEIPT_ERR_CODES[code as ReceiptErrCode] ?? null;
}
