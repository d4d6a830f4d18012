import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { isTimeZone } from './time-zone.ts';

/**
 * The one validated configuration object, read once at start-up. Nothing else reads `process.env`:
 * every module gets what it needs from here, so all settings are documented in one place
 * (docs/configuration.md) and a typo fails at start-up, not on the first SMS.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
/**
 * Which peers may tell the client's address in X-Forwarded-For (Fastify's `trustProxy`): `false`
 * (none, the default: a client could otherwise pick its own rate-limit bucket), `true` (any), a
 * number of hops, or a comma-separated list of addresses and CIDR ranges.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((v, ctx): boolean | number | string[] => {
    if (v === '' || v === 'false') return false;
    if (v === 'true') return true;
    if (/^\d+$/.test(v)) return Number(v);
    const entries = v.split(',').map((e) => e.trim());
    const bad = entries.find((e) => {
      const [address, prefix, extra] = e.split('/');
      const family = isIP(address ?? '');
      const maxPrefix = family === 4 ? 32 : 128;
      return (
        family === 0 ||
        extra !== undefined ||
        (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= maxPrefix))
      );
    });
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${bad}" is not an address or CIDR range (use false, true, a hop count or addresses)`,
      });
      return z.NEVER;
    }
    return entries;
  });
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/** A comma-separated list of host names (lowercased); blank means unset (the setting's default). */
const hostList = z
  .string()
  .optional()
  .transform((v, ctx): string[] | undefined => {
    const hosts = (v ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    const bad = hosts.find((h) => !/^[a-z0-9.-]+$/.test(h));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `"${bad}" is not a host name (give hosts, not URLs)` });
      return z.NEVER;
    }
    return hosts.length > 0 ? hosts : undefined;
  });

/** `KEY=` in a .env file means unset, not an empty value (nor port 0). */
const unsetIfBlank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  PUBLIC_URL: optionalString,
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: optionalString,
  // PGlite has no autovacuum (src/db/embedded-vacuum.ts); 0 turns the embedded vacuum off.
  EMBEDDED_VACUUM_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  // Render threads (src/templates/render-pool.ts); 0 renders on the event loop, where a slow template stalls the API.
  TEMPLATE_RENDER_THREADS: z.coerce.number().int().min(0).max(64).default(2),
  // A/B variants (docs/templates.md#ab-variants): the confidence a variant needs before it can be promoted.
  TEMPLATE_VARIANT_CONFIDENCE: z.coerce.number().min(0.5).max(0.9999).default(0.95),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  ADMIN_API_KEY: optionalString,
  USER_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  USER_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
  USER_TOKEN_MAX_TTL_SECONDS: z.coerce.number().int().positive().default(86_400),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024),
  // A batch carries up to 1,000 items: its own, larger limit (the other routes keep theirs).
  BATCH_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(4 * 1024 * 1024),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(6000),
  TRUST_PROXY: trustProxy.default(false),
  // Load shedding (docs/reliability.md); 0 turns a limit off.
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).default(1000),
  OVERLOAD_MAX_HEAP_USED_BYTES: z.coerce.number().int().min(0).default(0),
  OVERLOAD_MAX_RSS_BYTES: z.coerce.number().int().min(0).default(0),
  OVERLOAD_RETRY_AFTER_SECONDS: z.coerce.number().int().positive().default(10),
  // Embedded engine only: requests in flight past which one is refused (src/http/admission.ts).
  OVERLOAD_EMBEDDED_MAX_IN_FLIGHT: z.coerce.number().int().min(0).default(32),

  WORKER_ID: optionalString,
  WORKER_BATCH_SIZE: z.coerce.number().int().positive().default(100),
  WORKER_POLL_MS: z.coerce.number().int().positive().default(1000),
  WORKER_LEASE_MS: z.coerce.number().int().positive().default(60_000),
  WORKER_CONCURRENCY_IN_APP: z.coerce.number().int().positive().default(50),
  WORKER_CONCURRENCY_SMS: z.coerce.number().int().positive().default(50),
  WORKER_CONCURRENCY_EMAIL: z.coerce.number().int().positive().default(10),
  WORKER_CONCURRENCY_PUSH: z.coerce.number().int().positive().default(20),
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(30_000),

  SMS_MAX_RETRIES: z.coerce.number().int().min(0).default(3),
  SMS_RETRY_DELAY_MS: z.coerce.number().int().min(0).default(300_000),
  SMS_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  SMS_BACKEND: z.enum(['sandbox', 'twilio']).optional(),
  SMS_ENABLED: bool.default(true),
  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_PHONE_NUMBER: optionalString,
  TWILIO_MESSAGING_SERVICE_SID: optionalString,
  TWILIO_STATUS_CALLBACK_URL: optionalString,
  SMS_STATUS_CALLBACK_PATH: z.string().default('/api/sms/status-callback/'),
  SMS_STATUS_SWEEP_MS: z.coerce.number().int().positive().default(30_000),
  SMS_STATUS_STALE_MS: z.coerce.number().int().positive().default(120_000),
  SMS_PRICES_JSON: optionalString,
  DLT_ENTITY_ID: optionalString,
  DLT_SENDER_ID: optionalString,
  SMS_SANDBOX_URL: optionalString,
  /**
   * Which SMS providers may send, comma-separated (`twilio,vonage`). Unset: every provider that is
   * configured (on the sandbox backend, both).
   */
  SMS_PROVIDERS: z
    .string()
    .regex(
      /^\s*(twilio|vonage)\s*(,\s*(twilio|vonage)\s*)*$/,
      'must list twilio and/or vonage, comma-separated',
    )
    .optional(),
  /** How often a worker reads delivered SMS's latencies into the routing's health (slow-delivery rule). */
  SMS_HEALTH_POLL_MS: z.coerce.number().int().positive().default(15_000),
  /** A JSON file of SMS routes per country and health thresholds (docs/sms.md, "Routing"). */
  SMS_ROUTING_FILE: optionalString,
  VONAGE_API_KEY: optionalString,
  VONAGE_API_SECRET: optionalString,
  /** Signs Vonage's delivery receipts and inbound webhooks (the dashboard's signature secret). */
  VONAGE_SIGNATURE_SECRET: optionalString,
  VONAGE_SIGNATURE_METHOD: z
    .enum(['md5hash', 'md5hmac', 'sha1hmac', 'sha256hmac', 'sha512hmac'])
    .default('md5hash'),
  /** The sender: an alphanumeric id (India's DLT header, up to 11 characters) or a number. */
  VONAGE_FROM: optionalString,
  /** A Vonage send that got no answer counts as not sent once no receipt came for it this long. */
  VONAGE_RECONCILE_WINDOW_MS: z.coerce.number().int().min(0).default(600_000),
  VONAGE_RECEIPT_PATH: z.string().default('/api/sms/vonage/receipt'),
  VONAGE_INBOUND_PATH: z.string().default('/api/sms/vonage/inbound'),
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  SANDBOX_STEP_MS: z.coerce.number().int().min(0).default(200),

  QUIET_HOURS_DEFAULT: z
    .string()
    .regex(/^(off|([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)$/, 'must be HH:MM-HH:MM or off')
    .default('21:00-08:00'),
  SMS_DAILY_CAP_PER_USER: z.coerce.number().int().min(0).default(20),
  SMS_MONTHLY_CAP_PER_USER: z.coerce.number().int().min(0).default(200),
  SMS_CAP_EXEMPT_CRITICAL: bool.default(true),
  SMS_DAILY_BUDGET: z.coerce.number().positive().optional(),
  SMS_BUDGET_CURRENCY: z.string().length(3).default('USD'),
  SMS_SEND_RATE_PER_SECOND: z.coerce.number().positive().optional(),
  SMS_SEND_RATE_BURST: z.coerce.number().positive().optional(),
  SMS_SEND_RATE_MAX_WAIT_MS: z.coerce.number().int().positive().default(10_000),
  SMS_HELP_TEXT: z
    .string()
    .default(
      'LaundryConnect: order and payment alerts. Msg&data rates may apply. Reply STOP to opt out, START to opt back in. Help: support@laundryconnect.com',
    ),
  DIGEST_WINDOW_MS: z.coerce.number().int().positive().default(3_600_000),
  /** Campaigns (docs/campaigns.md): deliveries a second, promotional SMS window, expansion page. */
  CAMPAIGN_SEND_RATE: z.coerce.number().positive().default(20),
  CAMPAIGN_SMS_WINDOW: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM-HH:MM')
    .default('10:00-21:00'),
  CAMPAIGN_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(1000),

  SMTP_URL: optionalString,
  EMAIL_FROM: z.string().default('LaundryConnect <no-reply@laundryconnect.com>'),
  MAIL_CAPTURE_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  MAIL_CAPTURE_MAX_MESSAGES: z.coerce.number().int().positive().default(1000),

  WS_HEARTBEAT_MS: z.coerce.number().int().positive().default(30_000),
  VAPID_PUBLIC_KEY: optionalString,
  VAPID_PRIVATE_KEY: optionalString,
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:\/\/)/, 'must be a mailto: or https: URL')
    .default('mailto:support@laundryconnect.com'),
  PUSH_TTL_SECONDS: z.coerce.number().int().min(0).default(86_400),
  PUSH_ALLOW_HTTP_ENDPOINTS: bool.default(false),

  // PostgreSQL bounds (src/db/database.ts PgTimeouts): a stalled server must not wedge the service.
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  // serve/api/worker: how long start-up keeps trying while the database cannot be reached (0 = fail at once).
  DATABASE_STARTUP_TIMEOUT_MS: z.coerce.number().int().min(0).default(60_000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().positive().default(60_000),
  READYZ_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
  // Embedded: /readyz fails under this much free space on DATA_DIR's disk (one 16 MiB WAL segment:
  // below it PGlite's next WAL segment may not fit).
  STORAGE_MIN_FREE_MB: z.coerce.number().min(0).default(16),
  /**
   * Where emails send the user to manage notifications (the digest footer, the unsubscribe page);
   * unset, a signed link to this service's own preference centre (/me) for that user.
   */
  NOTIFICATION_SETTINGS_URL: z.url().optional(),
  /** How long that signed link works: an email is often read hours after it was sent. */
  ME_EMAIL_LINK_TTL_HOURS: z.coerce.number().int().min(1).max(720).default(72),
  /** The zone whose midnight starts "today" in the stats (API, CLI, console); a request may name another. */
  STATS_TIME_ZONE: z
    .string()
    .default('UTC')
    .refine(isTimeZone, 'must be an IANA time zone such as Asia/Kolkata'),
  // The operator console (docs/console.md): a session ends after this long unused, and at the latest
  // this long after sign-in, whatever its use.
  CONSOLE_SESSION_IDLE_MINUTES: z.coerce.number().int().positive().default(480),
  CONSOLE_SESSION_MAX_HOURS: z.coerce.number().int().positive().default(24),
  CONSOLE_SIGN_IN_ATTEMPTS_PER_MINUTE: z.coerce.number().int().positive().default(10),
  /** A channel's delivery rate under this (percent) is flagged on the overview. */
  CONSOLE_DELIVERY_RATE_WARNING_PERCENT: z.coerce.number().min(0).max(100).default(90),
  /** How often an open overview gets a fresh snapshot when nothing new was queued. */
  CONSOLE_LIVE_INTERVAL_MS: z.coerce.number().int().min(250).default(5_000),

  // GET /metrics (docs/metrics.md): off unless one of these is set. The token (Bearer, at least 16
  // characters) serves it on the API port and is then asked on the metrics listener too; the port
  // opens that separate listener on METRICS_HOST (the only way a `worker` process serves it).
  METRICS_TOKEN: z.preprocess(
    unsetIfBlank,
    z.string().trim().min(16, 'must be at least 16 characters').optional(),
  ),
  METRICS_PORT: z.preprocess(unsetIfBlank, z.coerce.number().int().min(0).max(65535).optional()),
  METRICS_HOST: z.string().default('127.0.0.1'),
  // OpenTelemetry tracing (docs/metrics.md#traces): off unless the OTLP endpoint is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(unsetIfBlank, z.url().optional()),
  OTEL_SERVICE_NAME: z.string().default('laundryconnect-notify'),
  // Data retention (docs/retention.md). Off by default: deleting is for the operator to choose, and
  // to export first; at least 3 days when on, so an SMS still waiting for its receipt is not deleted.
  RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .refine((d) => d === 0 || d >= 3, 'must be 0 (off) or at least 3 days'),
  /** Inbound SMS (phones, free text) may be kept for less; unset, RETENTION_DAYS; 0 keeps them. */
  RETENTION_INBOUND_SMS_DAYS: z.coerce.number().int().min(0).optional(),
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(1_000),
  RETENTION_BATCH_PAUSE_MS: z.coerce.number().int().min(0).default(250),
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(60_000).default(3_600_000),
  // Outbound webhooks (docs/webhooks.md). Private, loopback and link-local targets are refused
  // unless this is set (a local receiver in development, the tests): see src/webhooks/target-guard.ts.
  WEBHOOK_ALLOW_PRIVATE_TARGETS: bool.default(false),
  WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: z.coerce.number().int().positive().default(10),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  WEBHOOK_POLL_MS: z.coerce.number().int().positive().default(1_000),
  // Tracked links (docs/tracked-links.md): the hosts `{{ url | track }}` may lead to; unset,
  // PUBLIC_URL's host and the marketplace site's.
  TRACKED_LINK_HOSTS: hostList,
  // MMS (docs/mms.md): the hosts media URLs may be on (unset: no media accepted), the largest
  // image, how long the check before sending waits, and an extra CA for a media host's certificate.
  MMS_MEDIA_HOSTS: hostList,
  MMS_MAX_MEDIA_BYTES: z.coerce.number().int().positive().default(5_242_880),
  MMS_MEDIA_CHECK_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  MMS_MEDIA_CA_FILE: optionalString,
});

export type Config = z.infer<typeof schema>;

/**
 * Which SMS backend runs: SMS_BACKEND wins; otherwise Twilio when its credentials are set, else the
 * built-in sandbox (so `npm start` sends SMS with no account).
 */
export function smsBackend(config: Config): 'sandbox' | 'twilio' {
  if (config.SMS_BACKEND) return config.SMS_BACKEND;
  const twilio = config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN;
  const vonage = config.VONAGE_API_KEY && config.VONAGE_API_SECRET;
  return twilio || vonage ? 'twilio' : 'sandbox';
}

/** Parse an environment (defaults to process.env, after loading `.env` if present). */
export function loadConfig(env: NodeJS.ProcessEnv = readProcessEnv()): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function readProcessEnv(): NodeJS.ProcessEnv {
  // Node's own .env loader: real environment variables win over the file.
  if (existsSync('.env')) process.loadEnvFile('.env');
  return process.env;
}

/** Mask a secret for display: the first 10 characters then `...` (the seed's `ACxxxxxxxx...`). */
export function maskSecret(value: string | undefined): string {
  if (!value) return '(not set)';
  return value.length <= 10 ? '*'.repeat(value.length) : `${value.slice(0, 10)}...`;
}
