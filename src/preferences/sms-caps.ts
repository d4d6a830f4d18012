/**
 * Per-user SMS caps (the seed's "set daily/monthly SMS limits per user"), counted over the user's
 * local day and calendar month. The arithmetic is pure; the one query is countSmsSince
 * (deliveries/read-deliveries.ts).
 */
import type { Priority } from '../catalog/catalog.ts';
import { startOfWallDay, startOfWallMonth, wallMs, zonedToInstant } from '../time-zone.ts';

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
