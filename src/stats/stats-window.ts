/**
 * The window a stats answer covers: [from, to) cut into hour or day buckets in one IANA time zone.
 * "today" is the calendar day holding `now` in that zone, so an operator in Kolkata sees their own
 * midnight, not UTC's. Pure: `now` is a parameter.
 */
import { z } from 'zod';
import { text } from '../text.ts';
import { addWallDays, isTimeZone, startOfWallDay, wallMs, zonedToInstant } from '../time-zone.ts';

export const STATS_WINDOWS = ['today', '7d', '30d'] as const;
export type NamedWindow = (typeof STATS_WINDOWS)[number];
export type Granularity = 'hour' | 'day';

export interface StatsWindow {
  from: Date;
  to: Date;
  granularity: Granularity;
  timeZone: string;
}

/** Bounds that keep one answer small and its queries cheap: 400 day buckets or 31 days of hours. */
export const MAX_WINDOW_DAYS = 400;
export const MAX_HOURLY_WINDOW_DAYS = 31;
const DAY_MS = 86_400_000;

/** A window the caller asked for that cannot be answered; the message says why (a 400 at the API). */
export class StatsWindowError extends Error {
  override name = 'StatsWindowError';
}

export interface WindowRequest {
  window?: NamedWindow | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  granularity?: Granularity | undefined;
  timeZone: string;
  now: Date;
}

/** Named windows end at the end of today (zone midnight) and start 1, 7 or 30 zone days earlier. */
export function resolveWindow(req: WindowRequest): StatsWindow {
  const { timeZone } = req;
  if (!isTimeZone(timeZone)) throw new StatsWindowError(`"${timeZone}" is not an IANA time zone`);
  let from: Date;
  let to: Date;
  if (req.from || req.to) {
    if (req.window) throw new StatsWindowError('Give either window or from/to, not both');
    if (!req.from || !req.to) throw new StatsWindowError('Give both from and to');
    from = req.from;
    to = req.to;
    if (from.getTime() >= to.getTime()) throw new StatsWindowError('from must be before to');
  } else {
    const days = { today: 1, '7d': 7, '30d': 30 }[req.window ?? 'today'];
    const startOfToday = startOfWallDay(wallMs(req.now.getTime(), timeZone));
    from = new Date(zonedToInstant(addWallDays(startOfToday, 1 - days), timeZone));
    to = new Date(zonedToInstant(addWallDays(startOfToday, 1), timeZone));
  }
  const spanDays = (to.getTime() - from.getTime()) / DAY_MS;
  const granularity = req.granularity ?? (spanDays <= 2 ? 'hour' : 'day');
  if (spanDays > MAX_WINDOW_DAYS)
    throw new StatsWindowError(`A window may span at most ${MAX_WINDOW_DAYS} days`);
  if (granularity === 'hour' && spanDays > MAX_HOURLY_WINDOW_DAYS)
    throw new StatsWindowError(`Hourly buckets need a window of at most ${MAX_HOURLY_WINDOW_DAYS} days`);
  return { from, to, granularity, timeZone };
}

/** A window as the API and the CLI name it (strings as they arrive, validated by `statsQuery`). */
export interface StatsQuery {
  window?: NamedWindow | undefined;
  from?: string | undefined;
  to?: string | undefined;
  granularity?: Granularity | undefined;
  tz?: string | undefined;
}

export const statsQuery = z
  .object({
    window: z.enum(STATS_WINDOWS).optional().describe('today (the default), 7d or 30d, in the zone `tz`'),
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Start of a custom window (ISO 8601, inclusive)'),
    to: z.iso.datetime({ offset: true }).optional().describe('End of a custom window (ISO 8601, exclusive)'),
    granularity: z
      .enum(['hour', 'day'])
      .optional()
      .describe('Bucket size of the time series; default hour up to 2 days, else day'),
    tz: text()
      .min(1)
      .max(64)
      .optional()
      .describe('IANA time zone of "today" and the buckets; default STATS_TIME_ZONE'),
  })
  .strict();

export function windowFromQuery(q: StatsQuery, defaultTimeZone: string, now: Date): StatsWindow {
  return resolveWindow({
    window: q.window,
    from: q.from === undefined ? undefined : new Date(q.from),
    to: q.to === undefined ? undefined : new Date(q.to),
    granularity: q.granularity,
    timeZone: q.tz ?? defaultTimeZone,
    now,
  });
}
