/**
 * Per-user SMS caps (the seed's "set daily/monthly SMS limits per user"), counted over the user's
 * local day and calendar month. The arithmetic is pure; `countSmsSince` is the one query.
 */
import { sql } from 'drizzle-orm';
import { type Queryable, queryRows } from '../db/database.ts';
import type { Priority } from '../notifications/catalog.ts';
import { startOfWallDay, startOfWallMonth, wallMs, zonedToInstant } from './time-zone.ts';

export interface SmsCaps {
  /** 0 = no cap. */
  daily: number;
  monthly: number;
  exemptCritical: boolean;
}

/** The instants the user's current local day and month began. */
export function capPeriodStarts(now: Date, timeZone: string): { day: Date; month: Date } {
  const wall = wallMs(now.getTime(), timeZone);
  return {
    day: new Date(zonedToInstant(startOfWallDay(wall), timeZone)),
    month: new Date(zonedToInstant(startOfWallMonth(wall), timeZone)),
  };
}

export function capApplies(caps: SmsCaps, priority: Priority): boolean {
  if (caps.exemptCritical && priority === 'critical') return false;
  return caps.daily > 0 || caps.monthly > 0;
}

/** Whether one more SMS would go over a cap, given what was already sent this day and month. */
export function isOverCap(caps: SmsCaps, sent: { today: number; thisMonth: number }): boolean {
  return (caps.daily > 0 && sent.today >= caps.daily) || (caps.monthly > 0 && sent.thisMonth >= caps.monthly);
}

/**
 * SMS that count against the user's caps since `monthStart`: everything not skipped or failed (a
 * queued SMS will be sent; a failed one cost nothing). Counted by creation time, in one query.
 */
export async function countSmsSince(
  q: Queryable,
  userId: number,
  starts: { day: Date; month: Date },
): Promise<{ today: number; thisMonth: number }> {
  const [row] = await queryRows<{ today: string; month: string }>(
    q,
    sql`select count(*) filter (where n.created_at >= ${starts.day.toISOString()}::timestamptz) as today,
               count(*) as month
        from notifications n join deliveries d on d.notification_id = n.id
        where n.user_id = ${userId} and n.created_at >= ${starts.month.toISOString()}::timestamptz
          and d.channel = 'sms' and d.status not in ('skipped', 'failed')`,
  );
  return { today: Number(row?.today ?? 0), thisMonth: Number(row?.month ?? 0) };
}
