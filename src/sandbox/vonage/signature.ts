/**
 * Vonage's signed webhooks: every parameter but `sig`, sorted by name, joined as `&name=value` with
 * `&` and `=` in values turned into `_`; then either MD5 of that string followed by the signature
 * secret (`md5hash`) or an HMAC of it keyed by the secret. Hex digest. This is what the
 * `@vonage/sms` SDK's `verifySignature` checks.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { z } from 'zod';

export const signatureAlgorithmSchema = z.enum([
  'md5hash',
  'md5hmac',
  'sha1hmac',
  'sha256hmac',
  'sha512hmac',
]);
export type SignatureAlgorithm = z.infer<typeof signatureAlgorithmSchema>;

const HMAC_HASHES: Record<Exclude<SignatureAlgorithm, 'md5hash'>, string> = {
  md5hmac: 'md5',
  sha1hmac: 'sha1',
  sha256hmac: 'sha256',
  sha512hmac: 'sha512',
};

export function signatureOf(
  params: Record<string, string>,
  secret: string,
  algorithm: SignatureAlgorithm,
): string {
  let signed = '';
  for (const key of Object.keys(params).sort()) {
    if (key !== 'sig') signed += `&${key}=${params[key]!.replace(/[&=]/g, '_')}`;
  }
  if (algorithm === 'md5hash')
    return createHash('md5')
      .update(signed + secret)
      .digest('hex');
  return createHmac(HMAC_HASHES[algorithm], secret).update(signed).digest('hex');
}

/** The parameters with Vonage's `timestamp` (Unix seconds), `nonce` and `sig` added. */
export function signed(
  params: Record<string, string>,
  secret: string,
  algorithm: SignatureAlgorithm,
  now: number,
): Record<string, string> {
  const withNonce = { ...params, timestamp: String(Math.floor(now / 1000)), nonce: randomUUID() };
  return { ...withNonce, sig: signatureOf(withNonce, secret, algorithm) };
}
