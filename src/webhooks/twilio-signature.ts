import type { FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { AppError } from '../errors.ts';

/**
 * Check `X-Twilio-Signature` with the SDK's own validator. Twilio signs the URL it called, so behind
 * a proxy we must rebuild that URL from PUBLIC_URL (scheme, host, port) plus the path and query we
 * received — not from the Host header, which an attacker controls.
 */
export function assertTwilioSignature(
  request: FastifyRequest,
  authToken: string,
  publicBaseUrl: string,
): void {
  const signature = request.headers['x-twilio-signature'];
  if (typeof signature !== 'string' || signature.length === 0) {
    throw new AppError('SIGNATURE_INVALID', 'Missing X-Twilio-Signature header');
  }
  const url = publicBaseUrl.replace(/\/+$/, '') + request.url;
  const params = (request.body ?? {}) as Record<string, unknown>;
  if (!twilio.validateRequest(authToken, signature, url, params)) {
    throw new AppError('SIGNATURE_INVALID', 'X-Twilio-Signature does not match this request');
  }
}
