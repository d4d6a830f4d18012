import { wallMs } from '../time-zone.ts';

/**
 * The console's times in its zone (STATS_TIME_ZONE): shown as "YYYY-MM-DD HH:MM:SS" and read back
 * from a datetime-local field with time-zone.ts's localDateTimeInstant.
 */

/** "2026-12-02 21:58:03": the wall-clock time of `at` in `timeZone`. */
export function formatLocalDateTime(at: Date, timeZone: string): string {
  return new Date(wallMs(at.getTime(), timeZone)).toISOString().slice(0, 19).replace('T', ' ');
}
