/**
 * The sandbox's one Vonage account: API key and secret the SMS API accepts (Basic auth, as the SDK
 * sends them, or `api_key`/`api_secret` parameters), the signature secret its webhooks are signed
 * with, and a balance that each part sent is charged against.
 */
import type { SignatureAlgorithm } from './signature.ts';

/** Fixed development credentials, so a service and an external sandbox agree without setup. */
export const VONAGE_SANDBOX_DEFAULTS = {
  apiKey: 'a1b2c3d4',
  apiSecret: 'LcSandboxSecret1',
  signatureSecret: 'lc-sandbox-vonage-signature-secret',
  /** The algorithm the `@vonage/sms` SDK's `verifySignature` documentation example checks. */
  signatureAlgorithm: 'md5hash',
  balance: 100,
} as const;

export interface VonageAccountOptions {
  apiKey?: string;
  apiSecret?: string;
  signatureSecret?: string;
  signatureAlgorithm?: SignatureAlgorithm;
  /** Starting balance in the price table's currency. */
  balance?: number;
  /** Where receipts go when a request names no `callback` (the dashboard's delivery receipt URL). */
  receiptUrl?: string;
  /** Where inbound SMS go when the control API's inject names no `url` (the number's inbound URL). */
  inboundUrl?: string;
}

export type Credentials = { apiKey: string; apiSecret: string } | { missing: 'api_key' | 'api_secret' };

export class VonageAccount {
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly signatureSecret: string;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly receiptUrl: string | null;
  readonly inboundUrl: string | null;
  #balance: number;

  constructor(opts: VonageAccountOptions = {}) {
    const d = VONAGE_SANDBOX_DEFAULTS;
    this.apiKey = opts.apiKey ?? d.apiKey;
    this.apiSecret = opts.apiSecret ?? d.apiSecret;
    this.signatureSecret = opts.signatureSecret ?? d.signatureSecret;
    this.signatureAlgorithm = opts.signatureAlgorithm ?? d.signatureAlgorithm;
    this.#balance = opts.balance ?? d.balance;
    this.receiptUrl = opts.receiptUrl ?? null;
    this.inboundUrl = opts.inboundUrl ?? null;
  }

  get balance(): number {
    return this.#balance;
  }

  accepts(credentials: Credentials): boolean {
    return (
      'apiKey' in credentials &&
      credentials.apiKey === this.apiKey &&
      credentials.apiSecret === this.apiSecret
    );
  }

  /** Takes `amount` off the balance; false (nothing taken) when it does not cover it. */
  charge(amount: number): boolean {
    if (amount > this.#balance) return false;
    // Kept in micro-units, as the prices are, so a long run does not drift.
    this.#balance = Math.round((this.#balance - amount) * 1e6) / 1e6;
    return true;
  }
}

/**
 * The caller's key and secret: a Basic `Authorization` header wins (the SDK sends one), else the
 * `api_key` and `api_secret` parameters of the query or body.
 */
export function credentialsOf(
  authorization: string | undefined,
  params: Record<string, string>,
): Credentials {
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { apiKey: decoded.slice(0, colon), apiSecret: decoded.slice(colon + 1) };
  }
  if (!params.api_key) return { missing: 'api_key' };
  if (!params.api_secret) return { missing: 'api_secret' };
  return { apiKey: params.api_key, apiSecret: params.api_secret };
}
