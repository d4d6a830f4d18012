import type { FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { AppError } from '../../errors.ts';

/**
 * Check `X-Twilio-Signature` with the SDK's own validator. Twilio signs the URL it called, so behind
 * a proxy we must rebuild that URL from PUBLIC_URL (scheme, host, port) plus the path and query we
 * received — not from the Host header, which an attacker controls.
 *
 * Only form-encoded requests are taken. Twilio posts its Messaging webhooks (incoming message,
 * status callback) as application/x-www-form-urlencoded and signs URL + parameters. JSON-bodied
 * webhooks (signed over the URL alone, with the body's SHA-256 in `bodySHA256`) come from other
 * Twilio products, never to these routes: validating them here would be code no real request runs,
 * and checking them as form parameters (as before) trusted a body the signature did not cover. So
 * they are refused outright, 415, before the signature is even looked at.
 */
export function assertTwilioSignature(
  request: FastifyRequest,
  authToken: string,
  publicBaseUrl: string,
): void {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  const query = new URLSearchParams(request.url.split('?')[1] ?? '');
  if (type !== 'application/x-www-form-urlencoded' || query.has('bodySHA256')) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Twilio Messaging webhooks are form-encoded (application/x-www-form-urlencoded); JSON-bodied webhooks (bodySHA256) are not accepted here',
    );
  }
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
