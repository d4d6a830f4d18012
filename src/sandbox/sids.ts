/** Twilio-shaped identifiers: a two-letter prefix plus 32 lowercase hex digits. */
import { randomBytes } from 'node:crypto';

export function newSid(prefix: 'SM' | 'AC' | 'MG'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Auth tokens are 32 hex digits, like Twilio's. */
export function newAuthToken(): string {
  return randomBytes(16).toString('hex');
}

/** `ACxxxxxxxx...`: enough to recognise a credential in logs without leaking it. */
export function maskSecret(secret: string): string {
  return secret.slice(0, 10) + '...';
}
