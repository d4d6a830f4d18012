import type { ChannelName } from '../../src/catalog/catalog.ts';
import { loadConfig } from '../../src/config.ts';
import type { Db } from '../../src/db/database.ts';
import { users } from '../../src/db/schema.ts';
import { retryPolicies } from '../../src/deliveries/retry-policy.ts';
import type { CreateNotificationDeps } from '../../src/notifications/create-notification.ts';
import { TemplateStore } from '../../src/templates/template-store.ts';

// Quiet hours off by default: an app test must not depend on the time of day it runs at. Twilio
// alone by default: a test of one provider's path must not have its SMS routed to the other (the
// routing tests name both).
export const testConfig = (env: Record<string, string> = {}) =>
  loadConfig({ LOG_LEVEL: 'silent', QUIET_HOURS_DEFAULT: 'off', SMS_PROVIDERS: 'twilio', ...env });

let templates: TemplateStore | undefined;

export function notificationDeps(db: Db, channels: ChannelName[] = ['in_app']): CreateNotificationDeps {
  templates ??= new TemplateStore();
  return {
    db,
    templates,
    retryPolicies: retryPolicies(testConfig()),
    availableChannels: new Set(channels),
  };
}

export async function insertUser(
  db: Db,
  externalId: string,
  fields: Partial<typeof users.$inferInsert> = {},
) {
  const [row] = await db
    .insert(users)
    .values({ externalId, email: `${externalId}@example.com`, firstName: 'Asha', ...fields })
    .returning();
  return row!;
}

export const orderContext = {
  order: { order_number: 'ORD001', pickup_date: '2026-11-26', total: '499.00' },
};

/** Poll until `check` returns a truthy value or the deadline passes (no fixed sleeps). */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 10_000,
  label = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
