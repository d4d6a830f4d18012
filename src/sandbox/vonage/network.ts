/**
 * Numbers as Vonage writes them (international digits, no `+`) and the MCCMNC `network` it reports
 * for a destination: one plausible carrier per country the price table knows, for the sandbox.
 */
import { randomBytes } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

const MSISDN = /^\+?([1-9]\d{6,14})$/;

const NETWORKS: Record<string, string> = {
  US: '310260',
  IN: '40410',
  GB: '23410',
  AE: '42402',
  SG: '52501',
};

/** `+447700900000` or `447700900000` → `+447700900000`; null when it is not a phone number. */
export function toE164(number: string | undefined): string | null {
  const match = MSISDN.exec(number ?? '');
  return match === null ? null : `+${match[1]}`;
}

/** Vonage's form: the E.164 digits without `+`. */
export function msisdn(e164: string): string {
  return e164.startsWith('+') ? e164.slice(1) : e164;
}

/** Empty for a country outside the table: Vonage's `network` is informative only. */
export function networkCode(e164: string): string {
  const country = parsePhoneNumberFromString(e164)?.country;
  return (country && NETWORKS[country]) || '';
}

/** Vonage's message ids: 16 upper-case hex digits, e.g. `0B00000127FDBC63`. */
export function newMessageId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}
