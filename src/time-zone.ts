/**
 * Wall-clock arithmetic in a user's IANA time zone with nothing but `Intl` (pure). A wall-clock time
 * is represented as the milliseconds it would be in UTC ("wall ms"), so adding days is plain maths.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock time at `instantMs` in `timeZone`, as wall ms (seconds precision). */
export function wallMs(instantMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/** The zone's offset from UTC at an instant, in ms (Kathmandu: +5:45). */
function offsetMs(instantMs: number, timeZone: string): number {
  const whole = Math.floor(instantMs / 1000) * 1000;
  return wallMs(whole, timeZone) - whole;
}

/**
 * The instant a wall-clock time happens in `timeZone`. A time skipped by a DST gap resolves to the
 * same distance after the gap (02:30 on a spring-forward night → 03:30); a time that happens twice
 * resolves to the first occurrence — the same choice as Temporal's "compatible" disambiguation.
 */
export function zonedToInstant(wall: number, timeZone: string): number {
  const first = wall - offsetMs(wall, timeZone);
  const second = wall - offsetMs(first, timeZone);
  if (offsetMs(second, timeZone) === offsetMs(first, timeZone)) return second;
  return Math.max(first, second);
}

const DAY_MS = 86_400_000;

/** Midnight at the start of the wall-clock day holding `wall`. */
export function startOfWallDay(wall: number): number {
  return Math.floor(wall / DAY_MS) * DAY_MS;
}

/** Wall ms of the first day of the month holding `wall`. */
export function startOfWallMonth(wall: number): number {
  const d = new Date(wall);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function addWallDays(wall: number, days: number): number {
  return wall + days * DAY_MS;
}

const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/**
 * An IANA zone name (Asia/Kolkata, UTC, Etc/GMT+5) that this runtime knows. Offsets (`+05:30`) are
 * refused though Intl accepts them: an offset has no DST rules, so quiet hours would drift.
 */
export function isTimeZone(timeZone: string): boolean {
  if (!IANA_NAME.test(timeZone)) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** A wall time without a zone, "YYYY-MM-DDTHH:MM" (seconds optional): a datetime-local field, a `send_at` local time. */
export const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * The instant a LOCAL_DATE_TIME value names in `timeZone` (a DST gap moves it past the gap, as
 * zonedToInstant says); undefined when it is no such value or no real date (Date.UTC would roll
 * 30 February over to March: such a date is refused, not moved).
 */
export function localDateTimeInstant(value: string, timeZone: string): Date | undefined {
  const m = LOCAL_DATE_TIME.exec(value);
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
  const back = new Date(wall);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
    return undefined;
  return new Date(zonedToInstant(wall, timeZone));
}
