import { and, eq } from 'drizzle-orm';
import type { RunningApp } from '../../src/app.ts';
import { startApp } from '../../src/app.ts';
import { CATEGORIES, getNotificationType } from '../../src/catalog/catalog.ts';
import type { Clock } from '../../src/clock.ts';
import type { Db } from '../../src/db/database.ts';
import { deliveries, notificationPreferences, notifications } from '../../src/db/schema.ts';
import type { Logger } from '../../src/logger.ts';
import { createNotification } from '../../src/notifications/create-notification.ts';
import { insertUser, testConfig, waitFor } from './fixtures.ts';
import type { TestDatabase } from './test-db.ts';

export const ADMIN_KEY = 'lcn_test_admin_key_0123456789';

/** The whole service in-process on the test's database, with the built-in Twilio sandbox. */
export async function startSmsApp(
  t: TestDatabase,
  env: Record<string, string> = {},
  logger?: Logger,
  clock?: Clock,
): Promise<RunningApp> {
  return startApp({
    config: testConfig({
      PORT: '0',
      ADMIN_API_KEY: ADMIN_KEY,
      SANDBOX_STEP_MS: '20',
      SMS_RETRY_DELAY_MS: '100',
      SMS_REQUEST_TIMEOUT_MS: '2000',
      WORKER_POLL_MS: '50',
      ...env,
    }),
    api: true,
    worker: true,
    database: t.database,
    ...(logger ? { logger } : {}),
    ...(clock ? { clock } : {}),
  });
}

/** A user opted in to SMS for every category (SMS is opt-in by default). */
export async function smsUser(db: Db, id: string, phone: string | null = '+919876543210', locale = 'en') {
  const user = await insertUser(db, id, { phone, locale });
  await db
    .insert(notificationPreferences)
    .values(CATEGORIES.map((category) => ({ userId: user.id, category, channel: 'sms', enabled: true })));
  return user;
}

/** `clock`: created at its time (the time a rule's wait is measured from), not the wall clock's. */
export async function notify(app: RunningApp, userId: string, type = 'order_confirmed', clock?: Clock) {
  const deps = {
    ...(clock ? { now: () => new Date(clock.now()) } : {}),
    db: app.database.db,
    templates: app.templates,
    retryPolicies: (await import('../../src/deliveries/retry-policy.ts')).retryPolicies(app.config),
    availableChannels: new Set(['in_app', 'sms'] as const),
  };
  const { notificationId } = await createNotification(deps, {
    userId,
    type,
    context: getNotificationType(type)!.sampleContext,
  });
  return notificationId;
}

export async function smsDelivery(db: Db, notificationId: string) {
  const [row] = await db
    .select({ d: deliveries })
    .from(deliveries)
    .innerJoin(notifications, eq(notifications.id, deliveries.notificationId))
    .where(and(eq(notifications.notificationId, notificationId), eq(deliveries.channel, 'sms')));
  return row!.d;
}

export function waitForSmsStatus(db: Db, notificationId: string, status: string, timeoutMs = 15_000) {
  return waitFor(
    async () => {
      const d = await smsDelivery(db, notificationId);
      return d.status === status ? d : undefined;
    },
    timeoutMs,
    `SMS delivery ${status}`,
  );
}
