/**
 * Quiet hours and the first attempt time of a delivery (pure, injectable clock). Regular SMS and push
 * created inside a user's quiet hours wait for the end of the window in the user's time zone;
 * critical ones go at once; in-app is never held (it makes no noise); digest email and SMS are held
 * for the digest (see digest/).
 */
import type { ChannelName, Priority } from '../catalog/catalog.ts';
import { addWallDays, startOfWallDay, wallMs, zonedToInstant } from '../time-zone.ts';

/** Local wall-clock times "HH:MM"; start after end means the window spans midnight. */
export interface QuietWindow {
  start: string;
  end: string;
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function isHhMm(value: string): boolean {
  return HH_MM.test(value);
}

function minutesOf(hhmm: string): number {
  const m = HH_MM.exec(hhmm);
  if (!m) throw new Error(`Not a HH:MM time: "${hhmm}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** `QUIET_HOURS_DEFAULT`: "21:00-08:00", or "off". */
export function parseQuietWindow(value: string): QuietWindow | null {
  if (value === 'off') return null;
  const [start, end] = value.split('-');
  return { start: start!, end: end! };
}

/**
 * When the quiet window holding `now` ends in `timeZone`, or null when `now` is outside it (or the
 * window is empty). Computed on the wall clock, then mapped back to an instant, so a DST change
 * inside the window and 30/45-minute offsets come out right.
 */
export function quietHoursEnd(now: Date, timeZone: string, window: QuietWindow): Date | null {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (start === end) return null;
  const wall = wallMs(now.getTime(), timeZone);
  const day = startOfWallDay(wall);
  const minute = Math.floor((wall - day) / 60_000);
  const inside = start < end ? minute >= start && minute < end : minute >= start || minute < end;
  if (!inside) return null;
  // An overnight window entered before midnight ends tomorrow; otherwise it ends today.
  const endDay = start > end && minute >= start ? addWallDays(day, 1) : day;
  return new Date(zonedToInstant(endDay + end * 60_000, timeZone));
}

const HELD_IN_QUIET_HOURS: ReadonlySet<ChannelName> = new Set(['sms', 'push']);
const DIGESTED: ReadonlySet<ChannelName> = new Set(['email', 'sms']);

export interface ScheduleInput {
  channel: ChannelName;
  priority: Priority;
  now: Date;
  timeZone: string;
  quietHours: QuietWindow | null;
}

/**
 * A queued delivery's first `next_attempt_at`: now, the end of quiet hours, or null = held until the
 * digest collects it (the worker only claims rows whose time has come, so null is never claimed).
 */
export function firstAttemptAt(input: ScheduleInput): Date | null {
  if (input.priority === 'digest' && DIGESTED.has(input.channel)) return null;
  if (input.priority === 'critical' || !HELD_IN_QUIET_HOURS.has(input.channel) || !input.quietHours) {
    return input.now;
  }
  return quietHoursEnd(input.now, input.timeZone, input.quietHours) ?? input.now;
}
