/**
 * The twilio SDK's one extension point, its `httpClient`: a RequestClient that sends Twilio API
 * calls to another base URL (the local sandbox) and otherwise leaves the SDK untouched.
 *
 * What the SDK does NOT do for us:
 * - Its auto-retry (off by default) covers HTTP 429 only, with jittered exponential backoff, and
 *   ignores any Retry-After header; 5xx, timeouts and connection errors are never retried.
 * - A Messages create is not idempotent: a request that timed out or got a 5xx may still have sent
 *   the SMS, and the SDK has no idempotency key to make a resend safe.
 * So autoRetry stays off here: the delivery worker owns every retry, records each attempt in the
 * delivery history, and reconciles ambiguous sends by listing messages before resending.
 */
import http from 'node:http';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { httpAnswered, providerSpan } from '../provider-span.ts';

// The SDK's default (20 sockets per host) caps throughput at 20 concurrent sends.
const MAX_SOCKETS = 128;
const TWILIO_ORIGIN = /^https:\/\/(?:[a-z0-9-]+\.)*twilio\.com(?::\d+)?(?=\/|$)/i;

export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /** e.g. `http://127.0.0.1:4010` for the sandbox; absent means the real api.twilio.com. */
  baseUrl?: string;
  timeoutMs: number;
}

export class BaseUrlRequestClient extends twilio.RequestClient {
  readonly #baseUrl: string | undefined;

  constructor(opts: { baseUrl?: string; timeoutMs: number }) {
    super({ timeout: opts.timeoutMs, keepAlive: true, maxSockets: MAX_SOCKETS, autoRetry: false });
    this.#baseUrl = opts.baseUrl?.replace(/\/+$/, '');
    // The SDK only configures an https agent; a plain-http base URL needs its own keep-alive pool.
    this.axios.defaults.httpAgent = new http.Agent({
      keepAlive: true,
      maxSockets: MAX_SOCKETS,
      timeout: opts.timeoutMs,
    });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const routed =
      this.#baseUrl === undefined ? opts : { ...opts, uri: opts.uri.replace(TWILIO_ORIGIN, this.#baseUrl) };
    // Tracing on, the call is a client span and carries its traceparent; off, nothing is made.
    const method = (routed.method ?? 'get').toUpperCase();
    return providerSpan(
      `twilio ${method}`,
      { 'http.request.method': method, 'server.address': new URL(routed.uri).hostname },
      (traceHeaders) =>
        super.request({
          ...routed,
          headers: { ...(routed.headers as Record<string, string>), ...traceHeaders },
        }),
      (response, span) => httpAnswered(response.statusCode, span),
    );
  }
}

export function createTwilioClient(opts: TwilioClientOptions): twilio.Twilio {
  const httpClient = new BaseUrlRequestClient({ baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs });
  return twilio(opts.accountSid, opts.authToken, { httpClient });
}
