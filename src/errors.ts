/**
 * The error catalogue: every error the service reports has a stable code, an HTTP status and a docs
 * link, so clients can branch on `code` and operators can look it up. Nothing else invents error strings.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, title: 'Request validation failed' },
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON body' },
  UNAUTHORIZED: { status: 401, title: 'Missing or invalid API key' },
  METRICS_UNAUTHORIZED: { status: 401, title: 'Missing or invalid metrics token' },
  FORBIDDEN: { status: 403, title: 'Not allowed for this key' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  USER_NOT_FOUND: { status: 404, title: 'Unknown user' },
  NOTIFICATION_NOT_FOUND: { status: 404, title: 'Unknown notification' },
  IDEMPOTENCY_CONFLICT: { status: 409, title: 'Idempotency key reused with a different request' },
  CAMPAIGN_NOT_FOUND: { status: 404, title: 'Unknown campaign' },
  CAMPAIGN_CONFLICT: { status: 409, title: 'Campaign id reused with a different request' },
  CAMPAIGN_STATE: { status: 409, title: "Not allowed in the campaign's current state" },
  API_KEY_NOT_FOUND: { status: 404, title: 'Unknown API key' },
  API_KEY_REVOKED: { status: 409, title: 'API key already revoked' },
  LAST_ADMIN_KEY: { status: 409, title: 'The last admin key cannot be revoked' },
  WEBHOOK_ENDPOINT_NOT_FOUND: { status: 404, title: 'Unknown webhook endpoint' },
  WEBHOOK_MESSAGE_NOT_FOUND: { status: 404, title: 'Unknown webhook message' },
  WEBHOOK_TARGET_REFUSED: { status: 422, title: 'Webhook URL refused (scheme or non-public address)' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  UNKNOWN_NOTIFICATION_TYPE: { status: 422, title: 'Unknown notification type' },
  UNKNOWN_EVENT_TYPE: { status: 422, title: 'Unknown event type' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  NOT_READY: { status: 503, title: 'Service not ready' },
  SERVICE_OVERLOADED: { status: 503, title: 'Service overloaded' },
  DATABASE_UNAVAILABLE: { status: 503, title: 'Database unavailable' },
  STORAGE_FULL: { status: 503, title: 'Database storage full' },
  INTERNAL: { status: 500, title: 'Internal error' },
  SIGNATURE_INVALID: { status: 403, title: 'Invalid or missing provider webhook signature' },
  UNSUBSCRIBE_LINK_INVALID: { status: 400, title: 'Invalid or expired unsubscribe link' },
  SMS_NOT_CONFIGURED: { status: 503, title: 'SMS service not configured' },
  SMS_INVALID_PHONE: { status: 400, title: 'Invalid phone number format' },
  SMS_DLT_MISMATCH: { status: 422, title: 'SMS text does not match its registered DLT template' },
  TEMPLATE_MISSING_VAR: { status: 422, title: 'Template variable missing from context' },
  TEMPLATE_INVALID: { status: 422, title: 'Template does not parse' },
  TEMPLATE_NOT_FOUND: { status: 404, title: 'Template not found' },
  VARIANTS_INVALID: { status: 422, title: 'A/B variants invalid (labels, weights or fields)' },
  VARIANT_TEST_RUNNING: { status: 409, title: 'An A/B test already runs on this template' },
  VARIANT_TEST_NOT_FOUND: { status: 404, title: 'No A/B test on this template' },
  VARIANT_NOT_CONFIDENT: {
    status: 409,
    title: 'Variant not shown better at the required confidence',
  },
  TEMPLATE_LIMIT_EXCEEDED: {
    status: 400,
    title: 'Template exceeds a render limit (time, memory or output size)',
  },
  TEMPLATE_LINK_NOT_ALLOWED: { status: 422, title: 'Tracked link target not allowed' },
  MEDIA_URL_REFUSED: { status: 422, title: 'MMS media URL refused (scheme, host, type or size)' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The catalogue is served by the service itself (http/routes/errors.ts), so a `type` link always resolves. */
export const ERRORS_PAGE = '/errors';

/** `USER_NOT_FOUND` → `user-not-found`: the anchor of a code on the errors page. */
export function errorAnchor(code: ErrorCode): string {
  return code.toLowerCase().replaceAll('_', '-');
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, details?: Record<string, unknown>) {
    super(detail ?? ERRORS[code].title);
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}

/** problem+json (RFC 9457) body for an error; never carries a stack trace. */
export function problemBody(err: AppError, instance?: string) {
  return {
    // A relative reference (RFC 9457 §3.1.1): resolved against the request's URL, it names this
    // service's own page whatever host or proxy the client reached it through.
    type: `${ERRORS_PAGE}#${errorAnchor(err.code)}`,
    title: ERRORS[err.code].title,
    status: err.status,
    code: err.code,
    detail: err.message,
    ...(instance ? { instance } : {}),
    ...(err.details ?? {}),
  };
}
