/**
 * Sends an SMS through Vonage's SMS API with the official `@vonage/sms` SDK, pointed at the real
 * API or the sandbox by the SDK's own `restHost`. Knows nothing of users or templates: the channel
 * composes, this sends and says what came of it, in the seed's result shape (as the Twilio side's
 * `SmsService`) plus the `ProviderAnswer` the routing reads.
 *
 * What the SDK does and does not do for us:
 * - Refusals come on HTTP 200 with a `status` per part; the SDK then throws an `SMSFailure`
 *   (`MessageSendPartialFailure` even when every part was refused: it compares a number with the
 *   string `message-count`), so the parts are read from `getMessages()` either way.
 * - Any other HTTP status throws the SDK's `VetchError`, whose `config` holds the request headers,
 *   Basic credentials included: it is never returned or logged, only its status read.
 * - Its `timeout` option aborts the request (an `AbortError`); there is no per-call signal.
 * - It never retries: the delivery worker owns every retry, as on the Twilio side.
 */
import { SMS, SMSFailure, type SMSMessages, type SMSParams, TypeEnum } from '@vonage/sms';
import { providerSpan } from '../../provider-span.ts';
import { INVALID_PHONE_MESSAGE, validatePhone } from '../phone.ts';
import { NOT_REACHED_SOCKET_ERRORS, type ProviderAnswer } from '../routing/provider-answer.ts';
import { analyzeSms } from '../segments.ts';
import {
  type VonageErrorClass,
  type VonageErrorCode,
  vonageErrorMessage,
  vonageSendErrorCode,
  vonageSendStatus,
} from './vonage-errors.ts';

export interface VonageSettings {
  apiKey: string;
  apiSecret: string;
  /** The sender: an alphanumeric id (up to 11 characters, India's DLT header) or a number. */
  from: string;
  /** e.g. the sandbox's `http://127.0.0.1:4010`; absent means Vonage's `https://rest.nexmo.com`. */
  restHost?: string;
  timeoutMs: number;
  /** Resolved per send: the HTTP address is known only once the server listens. */
  receiptUrl: () => string | undefined;
}

/** Per message: our reference (the delivery's id, echoed in receipts) and India's DLT ids. */
export interface VonageSendOptions {
  clientRef?: string | null;
  /** DLT principal entity id. */
  entityId?: string | null;
  /** DLT content template id. */
  contentId?: string | null;
}

export type VonageSendResult =
  | {
      success: true;
      answer: ProviderAnswer;
      /** One per part, in order; the first is the message's id for the delivery. */
      message_ids: string[];
      num_parts: number;
      /** The sum of the parts' `message-price`, 8 decimals as Vonage writes it. */
      price: string | null;
      remaining_balance: string | null;
      network: string | null;
      /** Set when Vonage took some parts and refused others: the text arrives cut. */
      partial_failure: string | null;
      to: string;
      client_ref: string | null;
    }
  | {
      success: false;
      answer: ProviderAnswer;
      error: string;
      /** `VONAGE_<status>` when Vonage answered with a refusal; null for an HTTP or network failure. */
      error_code: VonageErrorCode | null;
      vonage_status: number | null;
      http_status: number | null;
      classification: VonageErrorClass;
      to: string;
      client_ref: string | null;
    };

type Part = SMSMessages['messages'][number];
type Failure = Extract<VonageSendResult, { success: false }>;

/**
 * The SMS API signs with key and secret, no application key. Given none, `@vonage/auth` calls
 * `fs.existsSync(undefined)`, which Node 24 warns about on stderr (DEP0187) — in every CLI's output.
 */
export const NO_PRIVATE_KEY = '';

export class VonageService {
  readonly #sms: SMS;
  readonly #s: VonageSettings;
  /** The span's server.address: the sandbox's host, or the SDK's default API host. */
  readonly #host: string;

  constructor(settings: VonageSettings) {
    this.#s = settings;
    this.#host = settings.restHost ? new URL(settings.restHost).hostname : 'rest.nexmo.com';
    this.#sms = new SMS(
      { apiKey: settings.apiKey, apiSecret: settings.apiSecret, privateKey: NO_PRIVATE_KEY },
      { restHost: settings.restHost?.replace(/\/+$/, ''), timeout: settings.timeoutMs },
    );
  }

  async sendSms(to: string, text: string, opts: VonageSendOptions = {}): Promise<VonageSendResult> {
    const clientRef = opts.clientRef ?? null;
    if (!validatePhone(to).ok) {
      return failure(to, clientRef, INVALID_PHONE_MESSAGE, {
        answer: { result: 'refused', refusal: 'recipient' },
      });
    }
    const receiptUrl = this.#s.receiptUrl();
    const params: SMSParams = {
      from: this.#s.from,
      // Vonage takes the number without its `+`.
      to: to.slice(1),
      text,
      // Left as `text`, a character outside GSM-7 arrives as `?`.
      ...(analyzeSms(text).encoding === 'UCS-2' ? { type: TypeEnum.UNICODE } : {}),
      ...(clientRef ? { clientRef } : {}),
      ...(opts.entityId ? { entityId: opts.entityId } : {}),
      ...(opts.contentId ? { contentId: opts.contentId } : {}),
      ...(receiptUrl ? { callback: receiptUrl } : {}),
    };
    let parts: Part[];
    try {
      // The SDK sends no headers of ours: the span has the delivery's trace as its parent, no more.
      parts = (
        await providerSpan(
          'vonage POST',
          { 'http.request.method': 'POST', 'server.address': this.#host },
          () => this.#sms.send(params),
        )
      ).messages;
    } catch (err) {
      if (!(err instanceof SMSFailure)) return failure(to, clientRef, ...transportFailure(err));
      parts = err.getMessages() as Part[];
    }
    return readParts(parts, to, clientRef);
  }
}

/**
 * The answer of `messages[]`: every part taken is a send; every part refused is Vonage's status for
 * it. Some of each means parts went out, so it counts as sent (sending it again elsewhere would
 * deliver those parts twice), with the refusal kept in `partial_failure`.
 */
export function readParts(parts: readonly Part[], to: string, clientRef: string | null): VonageSendResult {
  const taken = parts.filter((p) => p.status === '0' && p.messageId);
  const refusedPart = parts.find((p) => p.status !== '0');
  if (taken.length === 0) {
    const status = Number(refusedPart?.status);
    if (!Number.isInteger(status)) {
      return failure(to, clientRef, 'Vonage answered without a message status', {
        answer: { result: 'server-error' },
      });
    }
    const known = vonageSendStatus(status);
    return failure(to, clientRef, vonageErrorMessage(status, refusedPart?.errorText), {
      answer: known.answer,
      error_code: vonageSendErrorCode(status),
      vonage_status: status,
      classification: known.class,
    });
  }
  const prices = taken.map((p) => p.messagePrice);
  return {
    success: true,
    answer: { result: 'accepted' },
    message_ids: taken.map((p) => p.messageId!),
    num_parts: parts.length,
    price: prices.every((p) => p !== undefined && p !== '')
      ? prices.reduce((sum, p) => sum + Number(p), 0).toFixed(8)
      : null,
    remaining_balance: taken.at(-1)?.remainingBalance ?? null,
    network: taken[0]?.network || null,
    partial_failure:
      refusedPart === undefined
        ? null
        : `${parts.length - taken.length} of ${parts.length} parts refused: ${vonageErrorMessage(Number(refusedPart.status), refusedPart.errorText)}`,
    to,
    client_ref: clientRef,
  };
}

/**
 * A failed send. Unless Vonage's table says otherwise, a refusal will not pass by sending the same
 * request again (but throttling will), and a 5xx, a timeout or an unreached host may.
 */
function failure(
  to: string,
  clientRef: string | null,
  error: string,
  fields: Partial<Failure> & Pick<Failure, 'answer'>,
): Failure {
  return {
    success: false,
    error,
    error_code: null,
    vonage_status: null,
    http_status: null,
    classification:
      fields.answer.result === 'refused' && fields.answer.refusal !== 'throttled' ? 'permanent' : 'retryable',
    ...fields,
    to,
    client_ref: clientRef,
  };
}

/** An HTTP status other than 200, a timeout or a socket error, described without the request. */
function transportFailure(err: unknown): [string, Partial<Failure> & Pick<Failure, 'answer'>] {
  const e = err as { name?: string; response?: unknown; cause?: { code?: string } };
  if (e.response instanceof Response) {
    const status = e.response.status;
    const text = `Vonage answered HTTP ${status}`;
    if (status === 429)
      return [text, { http_status: status, answer: { result: 'refused', refusal: 'throttled' } }];
    if (status >= 500) return [text, { http_status: status, answer: { result: 'server-error' } }];
    const refusal = status === 401 || status === 403 ? 'auth' : 'other';
    return [text, { http_status: status, answer: { result: 'refused', refusal } }];
  }
  if (e.name === 'AbortError' || e.name === 'TimeoutError')
    return ['Vonage request timed out', { answer: { result: 'no-answer' } }];
  const code = e.cause?.code;
  if (code && NOT_REACHED_SOCKET_ERRORS.has(code))
    return [`Vonage request failed: ${code}`, { answer: { result: 'not-reached' } }];
  // A dropped connection, or anything else once the request may have been written: it may have sent.
  return [`Vonage request failed: ${code ?? e.name ?? 'unknown error'}`, { answer: { result: 'no-answer' } }];
}
