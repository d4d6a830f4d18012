/**
 * Vonage's webhooks into this service, delivery receipts and inbound SMS, checked before anything
 * is read from them: a signature (`sig` over every other parameter, with the account's signature
 * secret, checked by the `@vonage/sms` SDK's `verifySignature`) and a signed `timestamp` within a
 * few minutes of now, so a captured webhook cannot be replayed later. Vonage sends them as JSON or
 * as a GET's query: the route passes whichever it got. Anything refused throws a
 * `VonageWebhookError` (an AppError, 403) and nothing of it is used.
 */
import { AlgorithmTypes } from '@vonage/auth';
import { SMS } from '@vonage/sms';
import { z } from 'zod';
import type { Clock } from '../../../clock.ts';
import { AppError } from '../../../errors.ts';
import {
  type VonageErrorClass,
  type VonageErrorCode,
  vonageReceiptError,
  vonageReceiptErrorCode,
  vonageReceiptErrorMessage,
} from './vonage-errors.ts';
import { NO_PRIVATE_KEY } from './vonage-service.ts';

/** The dashboard's signature methods, as `VONAGE_SIGNATURE_METHOD` names them. */
export const VONAGE_SIGNATURE_METHODS = {
  md5hash: AlgorithmTypes.md5hash,
  md5hmac: AlgorithmTypes.md5hmac,
  sha1hmac: AlgorithmTypes.sha1hmac,
  sha256hmac: AlgorithmTypes.sha256hmac,
  sha512hmac: AlgorithmTypes.sha512hmac,
} as const;
export type VonageSignatureMethod = keyof typeof VONAGE_SIGNATURE_METHODS;

export interface VonageWebhookOptions {
  signatureSecret: string;
  signatureMethod: VonageSignatureMethod;
  /** How far the signed timestamp may be from now, either way; 5 minutes by default. */
  maxSkewMs?: number;
  clock: Clock;
}

export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

export type VonageWebhookRefusal = 'unsigned' | 'forged' | 'stale' | 'malformed';

export class VonageWebhookError extends AppError {
  readonly reason: VonageWebhookRefusal;

  constructor(reason: VonageWebhookRefusal, detail: string) {
    super('SIGNATURE_INVALID', detail);
    this.name = 'VonageWebhookError';
    this.reason = reason;
  }
}

/** The SDK's check needs no credentials: only the secret and method passed to it. */
const verifier = new SMS({ apiKey: '', apiSecret: '', privateKey: NO_PRIVATE_KEY });

/** The webhook's parameters, once its signature and age are checked. */
export function verifyVonageWebhook(
  params: Readonly<Record<string, unknown>>,
  opts: VonageWebhookOptions,
): Record<string, string> {
  const sig = params.sig;
  if (typeof sig !== 'string' || sig === '')
    throw new VonageWebhookError('unsigned', 'Vonage webhook is not signed (no sig)');
  // Vonage signs strings; any other value is not what it signed (and the SDK's check needs strings).
  const strings = Object.entries(params);
  if (!strings.every(([, v]) => typeof v === 'string'))
    throw new VonageWebhookError('forged', 'Vonage webhook has a parameter that is not a string');
  const signed = Object.fromEntries(strings) as Record<string, string>;
  const method = VONAGE_SIGNATURE_METHODS[opts.signatureMethod];
  if (!verifier.verifySignature(sig, signed, opts.signatureSecret, method))
    throw new VonageWebhookError('forged', 'Vonage webhook signature does not match');
  if (!/^\d{1,12}$/.test(signed.timestamp ?? ''))
    throw new VonageWebhookError('stale', 'Vonage webhook has no signed timestamp');
  const skew = Math.abs(opts.clock.now() - Number(signed.timestamp) * 1000);
  if (skew > (opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS))
    throw new VonageWebhookError(
      'stale',
      `Vonage webhook timestamp is ${Math.round(skew / 1000)} s from now`,
    );
  return signed;
}

/**
 * Vonage's receipt statuses as the provider statuses the delivery queue ranks (Twilio's words):
 * `accepted` and `buffered` have left Vonage for the carrier (`sent`); `expired` and `failed` were
 * not delivered by the carrier (`undelivered`); `rejected` was refused before it (`failed`).
 * `unknown` says nothing new, so it ranks as `sent` and never moves a delivery back.
 */
export const VONAGE_PROVIDER_STATUS = {
  accepted: 'sent',
  buffered: 'sent',
  unknown: 'sent',
  delivered: 'delivered',
  expired: 'undelivered',
  failed: 'undelivered',
  rejected: 'failed',
} as const;

const receiptSchema = z.looseObject({
  messageId: z.string().min(1).max(64),
  status: z.enum(Object.keys(VONAGE_PROVIDER_STATUS) as [keyof typeof VONAGE_PROVIDER_STATUS]),
  msisdn: z.string().regex(/^\d{7,15}$/),
  'err-code': z
    .string()
    .regex(/^\d{1,4}$/)
    .optional(),
  price: z.string().max(32).optional(),
  'client-ref': z.string().max(100).optional(),
});

export interface VonageReceipt {
  /** The part's message id (one receipt per part). */
  messageId: string;
  vonageStatus: keyof typeof VONAGE_PROVIDER_STATUS;
  providerStatus: (typeof VONAGE_PROVIDER_STATUS)[keyof typeof VONAGE_PROVIDER_STATUS];
  /** The recipient, E.164. */
  to: string;
  /** On a failed receipt: `VONAGE_DLR_<err-code>`, its text and whether a later attempt may pass. */
  errorCode: VonageErrorCode | null;
  errCode: number | null;
  errorMessage: string | null;
  errorClass: VonageErrorClass | null;
  /** This part's price. */
  price: string | null;
  clientRef: string | null;
}

export function parseVonageReceipt(
  params: Readonly<Record<string, unknown>>,
  opts: VonageWebhookOptions,
): VonageReceipt {
  const parsed = receiptSchema.safeParse(verifyVonageWebhook(params, opts));
  if (!parsed.success) throw new VonageWebhookError('malformed', 'Vonage receipt is missing a field');
  const r = parsed.data;
  const providerStatus = VONAGE_PROVIDER_STATUS[r.status];
  const failed = providerStatus === 'undelivered' || providerStatus === 'failed';
  const errCode = failed ? Number(r['err-code'] ?? 0) : 0;
  // A failure without a code is Vonage's "unknown" (1).
  const code = failed ? errCode || 1 : null;
  return {
    messageId: r.messageId,
    vonageStatus: r.status,
    providerStatus,
    to: `+${r.msisdn}`,
    errorCode: code === null ? null : vonageReceiptErrorCode(code),
    errCode: code,
    errorMessage: code === null ? null : vonageReceiptErrorMessage(code),
    errorClass: code === null ? null : vonageReceiptError(code).class,
    price: r.price || null,
    clientRef: r['client-ref'] || null,
  };
}

const inboundSchema = z.looseObject({
  messageId: z.string().min(1).max(64),
  msisdn: z.string().regex(/^\d{7,15}$/),
  to: z.string().regex(/^\d{7,15}$/),
  text: z.string().max(10_000),
  keyword: z.string().max(160).optional(),
});

export interface VonageInbound {
  messageId: string;
  /** The phone that texted, E.164. */
  from: string;
  /** Our Vonage number it was sent to, E.164. */
  to: string;
  text: string;
  /** Vonage's first word in capitals (STOP, START, HELP, YES), or derived from the text when absent. */
  keyword: string;
}

export function parseVonageInbound(
  params: Readonly<Record<string, unknown>>,
  opts: VonageWebhookOptions,
): VonageInbound {
  const parsed = inboundSchema.safeParse(verifyVonageWebhook(params, opts));
  if (!parsed.success) throw new VonageWebhookError('malformed', 'Vonage inbound SMS is missing a field');
  const m = parsed.data;
  return {
    messageId: m.messageId,
    from: `+${m.msisdn}`,
    to: `+${m.to}`,
    text: m.text,
    keyword: m.keyword || (m.text.trim().split(/\s+/)[0] ?? '').toUpperCase(),
  };
}
