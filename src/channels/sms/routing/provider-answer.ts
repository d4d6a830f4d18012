/**
 * What one provider request came to, in the few words both SMS providers' channels can say (each
 * maps its own SDK's errors onto it: Twilio's 20003 is `refused: auth`, Vonage's status 1 is
 * `refused: throttled`), and the two readings of it the routing needs: may the delivery fail over
 * now (`classifyOutcome`), and what it says about the provider's health (`requestOutcome`).
 */
export type ProviderAnswer =
  /** The provider took the message (it has the provider's id). */
  | { result: 'accepted' }
  /** The provider answered and did not take it; nothing was sent. */
  | { result: 'refused'; refusal: 'auth' | 'throttled' | 'recipient' | 'other' }
  /** A 5xx answer: the provider may or may not have taken the message. */
  | { result: 'server-error' }
  /** The request was written but no answer came (timeout, dropped connection): it may have sent. */
  | { result: 'no-answer' }
  /** The request never reached the provider (connection refused, DNS, TLS): nothing was sent. */
  | { result: 'not-reached' };

/**
 * Socket errors raised before a request was written: nothing can have been sent (`not-reached`).
 * Twilio's SDK (axios) and Vonage's (fetch/undici) raise different subsets of them.
 */
export const NOT_REACHED_SOCKET_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * - `ok`: sent; nothing more to choose.
 * - `known-refusal`: the provider certainly did not send; another provider may be tried at once.
 * - `unknown`: it may have sent; reconcile with THIS provider before choosing again.
 * - `permanent-recipient`: the number itself cannot receive (invalid, landline, opted out at the
 *   carrier); another provider would fail the same way, so the delivery fails, no failover.
 */
export type DeliveryOutcome = 'ok' | 'known-refusal' | 'unknown' | 'permanent-recipient';

export function classifyOutcome(answer: ProviderAnswer): DeliveryOutcome {
  switch (answer.result) {
    case 'accepted':
      return 'ok';
    case 'refused':
      return answer.refusal === 'recipient' ? 'permanent-recipient' : 'known-refusal';
    case 'server-error':
    case 'no-answer':
      return 'unknown';
    case 'not-reached':
      return 'known-refusal';
  }
}

/** A request as the provider's health counts it. */
export type RequestOutcome =
  | 'ok'
  /** The provider worked; the recipient was the problem: neither success nor failure of the provider. */
  | 'recipient_error'
  | 'error'
  | 'throttled'
  | 'timeout'
  | 'server_error'
  | 'connection_refused'
  | 'auth_error';

export const REQUEST_OUTCOMES: readonly RequestOutcome[] = [
  'ok',
  'recipient_error',
  'error',
  'throttled',
  'timeout',
  'server_error',
  'connection_refused',
  'auth_error',
];

/** The outcomes that count against a provider in the window's failed share. */
export const FAILED_OUTCOMES: ReadonlySet<RequestOutcome> = new Set([
  'error',
  'throttled',
  'timeout',
  'server_error',
  'connection_refused',
  'auth_error',
]);

type Refusal = Extract<ProviderAnswer, { result: 'refused' }>['refusal'];

const REFUSAL_OUTCOME: Record<Refusal, RequestOutcome> = {
  auth: 'auth_error',
  throttled: 'throttled',
  recipient: 'recipient_error',
  other: 'error',
};

export function requestOutcome(answer: ProviderAnswer): RequestOutcome {
  switch (answer.result) {
    case 'accepted':
      return 'ok';
    case 'refused':
      return REFUSAL_OUTCOME[answer.refusal];
    case 'server-error':
      return 'server_error';
    case 'no-answer':
      return 'timeout';
    case 'not-reached':
      return 'connection_refused';
  }
}
