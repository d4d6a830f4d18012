import { eq } from 'drizzle-orm';
import type { ChannelName, Priority } from '../catalog/catalog.ts';
import type { Config } from '../config.ts';
import type { Queryable } from '../db/database.ts';
import { notificationSettings } from '../db/schema.ts';
import type { SmsSent } from '../deliveries/read-deliveries.ts';
import { firstAttemptAt, parseQuietWindow, type QuietWindow } from './quiet-hours.ts';
import { capApplies, isOverCap, type SmsCaps } from './sms-caps.ts';

/** The service-wide policy settings, from config. */
export interface DeliveryPolicyConfig {
  defaultQuietHours: QuietWindow | null;
  smsCaps: SmsCaps;
}

export function deliveryPolicyConfig(config: Config): DeliveryPolicyConfig {
  return {
    defaultQuietHours: parseQuietWindow(config.QUIET_HOURS_DEFAULT),
    smsCaps: {
      daily: config.SMS_DAILY_CAP_PER_USER,
      monthly: config.SMS_MONTHLY_CAP_PER_USER,
      exemptCritical: config.SMS_CAP_EXEMPT_CRITICAL,
    },
  };
}

/** The columns of a user's quiet-hours setting. */
export interface QuietHoursRow {
  quietHoursStart: string | null;
  quietHoursEnd: string | null;
}

/** A user's quiet hours: their own setting (both null: none), else the configured default. */
export function quietWindowOf(
  row: QuietHoursRow | undefined,
  fallback: QuietWindow | null,
): QuietWindow | null {
  if (!row) return fallback;
  return row.quietHoursStart && row.quietHoursEnd
    ? { start: row.quietHoursStart, end: row.quietHoursEnd }
    : null;
}

export async function loadQuietHours(
  q: Queryable,
  userId: number,
  fallback: QuietWindow | null,
): Promise<QuietWindow | null> {
  const [row] = await q.select().from(notificationSettings).where(eq(notificationSettings.userId, userId));
  return quietWindowOf(row, fallback);
}

export interface DeliveryPolicy {
  smsCapReached: boolean;
  /** See quiet-hours.ts `firstAttemptAt`. */
  firstAttemptAt(channel: ChannelName): Date | null;
}

/**
 * Whether a notification's SMS is subject to the caps, so its user's sends must be counted first
 * (countSmsSinceEach): only when an SMS would otherwise go out. Without a policy config
 * (embedders, unit tests) nothing is capped.
 */
export function smsCapCounted(
  config: DeliveryPolicyConfig | undefined,
  priority: Priority,
  wantsSms: boolean,
): config is DeliveryPolicyConfig {
  return !!config && wantsSms && capApplies(config.smsCaps, priority);
}

/**
 * What notification creation needs to know about one user's timing and caps (pure: the sends were
 * counted beforehand, `smsSent`, when smsCapCounted said so). Without a policy config nothing is
 * held or capped.
 */
export function deliveryPolicy(
  config: DeliveryPolicyConfig | undefined,
  input: {
    timeZone: string;
    quietHours: QuietWindow | null;
    priority: Priority;
    smsSent: SmsSent | undefined;
    now: Date;
  },
): DeliveryPolicy {
  return {
    smsCapReached: !!config && !!input.smsSent && isOverCap(config.smsCaps, input.smsSent),
    firstAttemptAt: (channel) =>
      config
        ? firstAttemptAt({
            channel,
            priority: input.priority,
            now: input.now,
            timeZone: input.timeZone,
            quietHours: input.quietHours,
          })
        : input.now,
  };
}
