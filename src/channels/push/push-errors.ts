/**
 * The one classification of a push service's answer (pure), per RFC 8030 and the push services'
 * documented codes: gone subscriptions are removed, overload and outages are retried, anything
 * else about the request is permanent (sending the same request again cannot help).
 */
export type PushErrorCode =
  | 'PUSH_SUBSCRIPTION_GONE'
  | 'PUSH_SUBSCRIPTION_INVALID'
  | 'PUSH_RATE_LIMITED'
  | 'PUSH_SERVICE_ERROR'
  | 'PUSH_NETWORK_ERROR'
  | 'PUSH_PAYLOAD_TOO_LARGE'
  | 'PUSH_UNAUTHORIZED'
  | 'PUSH_REJECTED';

export type PushOutcome =
  | { kind: 'accepted' }
  // Removed: the service forgot it, or its keys cannot encrypt (stored before keys were checked).
  | { kind: 'gone'; code: 'PUSH_SUBSCRIPTION_GONE' | 'PUSH_SUBSCRIPTION_INVALID' }
  | { kind: 'retryable' | 'permanent'; code: PushErrorCode };

export function classifyPushStatus(status: number): PushOutcome {
  if (status >= 200 && status < 300) return { kind: 'accepted' };
  // 404: unknown subscription, 410: the user unsubscribed or it expired.
  if (status === 404 || status === 410) return { kind: 'gone', code: 'PUSH_SUBSCRIPTION_GONE' };
  if (status === 429) return { kind: 'retryable', code: 'PUSH_RATE_LIMITED' };
  if (status >= 500) return { kind: 'retryable', code: 'PUSH_SERVICE_ERROR' };
  if (status === 413) return { kind: 'permanent', code: 'PUSH_PAYLOAD_TOO_LARGE' };
  // 401/403: the VAPID token was refused (wrong keys for this subscription): an operator must act.
  if (status === 401 || status === 403) return { kind: 'permanent', code: 'PUSH_UNAUTHORIZED' };
  return { kind: 'permanent', code: 'PUSH_REJECTED' };
}

/** A push service's failure status in words (RFC 8030 and the services' documentation). */
export function describePushStatus(status: number): string {
  if (status === 404) return 'subscription not found';
  if (status === 410) return 'subscription expired or unsubscribed';
  if (status === 413) return 'payload too large';
  if (status === 429) return 'too many requests';
  if (status === 401 || status === 403) return 'VAPID authorization refused';
  if (status >= 500) return 'push service error';
  return 'request refused';
}

/** Retry-After in seconds or as an HTTP date, in milliseconds from `now`. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
