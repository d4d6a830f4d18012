import { eq } from 'drizzle-orm';
import type { ChannelName } from '../channels/channel.ts';
import type { Config } from '../config.ts';
import type { Queryable } from '../db/database.ts';
import { notificationSettings } from '../db/schema.ts';
import { countSmsSince } from '../deliveries/read-deliveries.ts';
import type { Priority } from '../notifications/catalog.ts';
import { firstAttemptAt, parseQuietWindow, type QuietWindow } from './quiet-hours.ts';
import { capApplies, capPeriodStarts, isOverCap, type SmsCaps } from './sms-caps.ts';

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
 * What notification creation needs to know about one user's timing and caps, inside its
 * transaction (the cap count is the one query, and only when an SMS would go out). Without a
 * policy config (embedders, unit tests) nothing is held or capped.
 */
export async function loadDeliveryPolicy(
  q: Queryable,
  config: DeliveryPolicyConfig | undefined,
  input: {
    userId: number;
    timeZone: string;
    quietHours: QuietWindow | null;
    priority: Priority;
    wantsSms: boolean;
    now: Date;
  },
): Promise<DeliveryPolicy> {
  let smsCapReached = false;
  if (config && input.wantsSms && capApplies(config.smsCaps, input.priority)) {
    const sent = await countSmsSince(q, input.userId, capPeriodStarts(input.now, input.timeZone));
    smsCapReached = isOverCap(config.smsCaps, sent);
  }
  return {
    smsCapReached,
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
