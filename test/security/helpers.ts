import { Writable } from 'node:stream';
import { type RunningApp, startApp } from '../../src/app.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { createLogger } from '../../src/logger.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { smsUser } from '../helpers/sms-app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-db.ts';

/**
 * The whole service (API, worker, built-in Twilio sandbox) on a fresh database, with every log line
 * captured so a test can scan what the service wrote. Secrets here are deliberately recognisable.
 */
export const ADMIN_KEY = 'lcn_adm_SECURITYTESTADMINKEY0123456789';
export const TWILIO_SID = 'AC5ec0000000000000000000000000beef';
export const TWILIO_TOKEN = 'f00dfacef00dfacef00dfacef00dface';
export const USER_TOKEN_SECRET = 'security-test-user-token-secret-0123456789';

export interface SecurityApp {
  t: TestDatabase;
  app: RunningApp;
  url: string;
  serviceKey: string;
  /** Every log line the service wrote so far, as raw text. */
  logs(): string;
  close(): Promise<void>;
}

export async function startSecurityApp(env: Record<string, string> = {}): Promise<SecurityApp> {
  const t = await createTestDatabase();
  let captured = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      captured += chunk.toString('utf8');
      done();
    },
  });
  const app = await startApp({
    config: testConfig({
      PORT: '0',
      ADMIN_API_KEY: ADMIN_KEY,
      USER_TOKEN_SECRET,
      TWILIO_ACCOUNT_SID: TWILIO_SID,
      TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      SMS_BACKEND: 'sandbox',
      SANDBOX_STEP_MS: '10',
      SMS_RETRY_DELAY_MS: '50',
      SMS_REQUEST_TIMEOUT_MS: '2000',
      WORKER_POLL_MS: '50',
      QUIET_HOURS_DEFAULT: 'off',
      ...env,
    }),
    api: true,
    worker: true,
    database: t.database,
    logger: createLogger(env['LOG_LEVEL'] ?? 'trace', sink),
  });
  const serviceKey = await createApiKey(t.database.db, 'security-test backend', 'service');
  return {
    t,
    app,
    url: app.url!,
    serviceKey,
    logs: () => captured,
    async close() {
      await app.close();
      await t.close();
    },
  };
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** One HTTP call; `key` null sends no credential. Never throws on a status. */
export async function call(
  base: string,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers['authorization'] = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** A user opted in to SMS, with a phone, through the database (as the fixtures do). */
export const seedSmsUser = (s: SecurityApp, id: string, phone: string) => smsUser(s.t.database.db, id, phone);
