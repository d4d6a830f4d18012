/**
 * The Twilio error codes the sandbox can answer with, with the HTTP status and message Twilio uses, so
 * the SDK raises the same RestException it would against api.twilio.com.
 */
export const TWILIO_ERRORS = {
  20001: { status: 400, message: 'Invalid parameter' },
  20003: { status: 401, message: 'Authenticate' },
  20009: { status: 400, message: 'Cannot delete this resource before it is complete' },
  20404: { status: 404, message: 'The requested resource was not found' },
  20429: { status: 429, message: 'Too Many Requests' },
  20500: { status: 500, message: 'Internal Server Error' },
  20503: { status: 503, message: 'Service Unavailable' },
  21211: { status: 400, message: 'Invalid To phone number' },
  21602: { status: 400, message: 'Message body is required.' },
  21603: { status: 400, message: "A 'From' phone number is required." },
  21604: { status: 400, message: "A 'To' phone number is required." },
  21610: { status: 400, message: 'Attempt to send to unsubscribed recipient' },
  21614: { status: 400, message: "'To' number is not a valid mobile number" },
  21617: { status: 400, message: 'The concatenated message body exceeds the 1600 character limit.' },
  30400: { status: 400, message: 'Parameters are not valid' },
  30409: { status: 400, message: 'This message cannot be canceled' },
} as const;

export type TwilioErrorCode = keyof typeof TWILIO_ERRORS;

/** Asynchronous delivery failures, reported on the resource and in the final status callback. */
export const DELIVERY_ERROR_MESSAGES = {
  30003: 'Unreachable destination handset',
  30005: 'Unknown destination handset',
  30006: 'Landline or unreachable carrier',
  30007: 'Message filtered',
} as const;

export type DeliveryErrorCode = keyof typeof DELIVERY_ERROR_MESSAGES;

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export function twilioError(code: TwilioErrorCode, message?: string): TwilioErrorBody {
  const entry = TWILIO_ERRORS[code];
  return {
    code,
    message: message ?? entry.message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status: entry.status,
  };
}

/** The message Twilio gives for a rejected `To`, quoting the number as received. */
export function invalidToError(code: 21211 | 21614, to: string): TwilioErrorBody {
  return twilioError(code, code === 21211 ? `The 'To' number ${to} is not a valid phone number.` : undefined);
}
