/** The fault scenarios' shared credentials and the settings that make recovery fast enough to watch. */
export const SID = 'AC7e1ab111e0000000000000000000cafe';
export const TOKEN = 'reliab1e0reliab1e0reliab1e0abcd12';
export const ADMIN_KEY = 'lcn_adm_reliability_suite_key_0123456789';
export const PG_ADMIN_URL =
  process.env['RELIABILITY_PG_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Settings that make retries, leases and polls fast enough to watch recovery within a test. */
export const FAST_ENV: Record<string, string> = {
  HOST: '127.0.0.1',
  ADMIN_API_KEY: ADMIN_KEY,
  LOG_LEVEL: 'warn',
  SMS_BACKEND: 'sandbox',
  // Each scenario's faults are the Twilio API's unless it says otherwise: Twilio alone sends
  // (the failover scenario names both providers).
  SMS_PROVIDERS: 'twilio',
  TWILIO_ACCOUNT_SID: SID,
  TWILIO_AUTH_TOKEN: TOKEN,
  SMS_RETRY_DELAY_MS: '200',
  SMS_REQUEST_TIMEOUT_MS: '1000',
  WORKER_LEASE_MS: '3000',
  WORKER_POLL_MS: '100',
  WORKER_SHUTDOWN_GRACE_MS: '3000',
  RATE_LIMIT_PER_MINUTE: '1000000',
  QUIET_HOURS_DEFAULT: 'off',
};
