/**
 * Phone numbers for SMS: we accept only numbers that already are E.164 and valid for their country.
 * We never "fix" input (drop spaces, guess +91): a guessed country sends a message to a stranger.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** The seed's wording, kept verbatim because users and support staff already know it. */
export const INVALID_PHONE_MESSAGE = 'Invalid phone number format. Must start with + and country code.';

export type PhoneRejection = 'missing_plus' | 'has_separators' | 'invalid_number' | 'empty';

export type PhoneValidation =
  | { ok: true; e164: string; country: string | undefined; type: string | undefined }
  | { ok: false; message: string; reason: PhoneRejection };

const E164 = /^\+[1-9]\d{1,14}$/;
// Anything a person types between digits; whitespace also covers leading/trailing spaces.
const SEPARATORS = /[\s\-()./]/;

function reject(reason: PhoneRejection): PhoneValidation {
  return { ok: false, message: INVALID_PHONE_MESSAGE, reason };
}

export function validatePhone(input: string): PhoneValidation {
  if (input.trim() === '') return reject('empty');
  if (SEPARATORS.test(input)) return reject('has_separators');
  if (!input.startsWith('+')) return reject('missing_plus');
  if (!E164.test(input)) return reject('invalid_number');
  // The max metadata knows each country's real number ranges, so "+91 0000000000" is refused too.
  const parsed = parsePhoneNumberFromString(input);
  if (!parsed?.isValid() || parsed.number !== input) return reject('invalid_number');
  return { ok: true, e164: parsed.number, country: parsed.country, type: parsed.getType() };
}

/**
 * A phone number safe for logs: `+` and country code, then only the last two digits (`+91********10`).
 * Works on unvalidated input too, since rejected numbers get logged as well.
 */
export function maskPhone(phone: string): string {
  const callingCode = parsePhoneNumberFromString(phone)?.countryCallingCode;
  const prefix = callingCode && phone.startsWith(`+${callingCode}`) ? `+${callingCode}` : '';
  const rest = phone.slice(prefix.length);
  // Showing two digits of a very short string would reveal most of it.
  const shown = rest.length > 4 ? 2 : 0;
  return prefix + '*'.repeat(rest.length - shown) + rest.slice(rest.length - shown);
}

/** Every E.164-looking number in a free text (a provider's error message quotes the `To`) masked. */
export function maskPhonesIn(text: string): string {
  return text.replace(/\+\d{7,15}\b/g, maskPhone);
}
