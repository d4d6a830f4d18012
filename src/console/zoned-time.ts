import { wallMs, zonedToInstant } from '../time-zone.ts';

/**
 * The console's times in its zone (STATS_TIME_ZONE): shown as "YYYY-MM-DD HH:MM:SS" and read back
 * from a datetime-local field ("YYYY-MM-DDTHH:MM", seconds optional), which carries no zone.
 */

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** The instant a datetime-local value names in `timeZone`; undefined when it is no such value. */
export function parseLocalDateTime(value: string, timeZone: string): Date | undefined {
  const m = LOCAL_INPUT.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((p) => Number(p ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC rolls 2026-02-30 over to March: a date that does not exist is refused, not moved.
  const back = new Date(wall);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
    return undefined;
  return new Date(zonedToInstant(wall, timeZone));
}

/** "2026-12-02 21:58:03": the wall-clock time of `at` in `timeZone`. */
export function formatLocalDateTime(at: Date, timeZone: string): string {
  return new Date(wallMs(at.getTime(), timeZone)).toISOString().slice(0, 19).replace('T', ' ');
}
