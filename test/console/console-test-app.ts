import { type RunningApp, startApp } from '../../src/app.ts';
import type { Clock } from '../../src/clock.ts';
import { testConfig } from '../helpers/fixtures.ts';
import type { TestDatabase } from '../helpers/test-db.ts';

export interface ConsoleAppOptions {
  /** The admin key the app creates at start (sign in with it). */
  adminKey: string;
  /** Settings over the console tests' defaults. */
  env?: Record<string, string>;
  /** Off unless a test needs deliveries to move: most console tests set outcomes themselves. */
  worker?: boolean;
  /** A test clock, for sessions, windows and schedules. */
  clock?: Clock;
}

/**
 * The service in-process on the test's database, as the console tests run it: any port, the admin
 * key given, sign-in unthrottled (a test signs in many times a minute).
 */
export function startConsoleApp(t: TestDatabase, o: ConsoleAppOptions): Promise<RunningApp> {
  return startApp({
    config: testConfig({
      PORT: '0',
      ADMIN_API_KEY: o.adminKey,
      CONSOLE_SIGN_IN_ATTEMPTS_PER_MINUTE: '1000',
      ...o.env,
    }),
    api: true,
    worker: o.worker ?? false,
    database: t.database,
    ...(o.clock && { clock: o.clock }),
  });
}
