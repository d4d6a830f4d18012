import { z } from 'zod';
import { CHANNELS, NOTIFICATION_TYPE_NAMES } from '../catalog/catalog.ts';
import { DELIVERY_STATUSES } from '../db/schema.ts';
import { ActivityCursorError, type ActivityFilter, decodeCursor } from '../deliveries/activity-query.ts';
import { AppError } from '../errors.ts';
import { localDateTimeInstant } from '../time-zone.ts';

/**
 * The activity list's filters as the page's GET form sends them (every field, empty when unused)
 * and the CSV export repeats them: checked here once, for the page, its live stream and the export.
 */

/** The form's fields in form order; the names are the query's. */
export const FILTER_FIELDS = [
  'user',
  'type',
  'channel',
  'status',
  'error_code',
  'from',
  'to',
  'notification_id',
  'sid',
] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

/** An empty field is an unused filter. */
const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const text = (max: number) => z.preprocess(blank, z.string().trim().max(max).optional());
const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(blank, z.enum(values).optional());
const localTime = z.preprocess(
  blank,
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'must be a date and time, YYYY-MM-DDTHH:MM')
    .optional(),
);

const activityQuery = z
  .object({
    user: text(128),
    type: oneOf(NOTIFICATION_TYPE_NAMES as [string, ...string[]]),
    channel: oneOf(CHANNELS),
    status: oneOf(DELIVERY_STATUSES),
    error_code: text(64),
    from: localTime,
    to: localTime,
    notification_id: text(128),
    sid: text(128),
    cursor: text(200),
  })
  .strict();

export interface ActivityQuery {
  filter: ActivityFilter;
  cursor: string | undefined;
  /** The filters as given (trimmed), to refill the form and carry into links. */
  values: Partial<Record<FilterField, string>>;
}

const refuse = (field: string, message: string) =>
  new AppError('VALIDATION_FAILED', `query.${field}: ${message}`, {
    errors: [{ field: `query.${field}`, message }],
  });

/** The filters of a request's query; a wrong one is a 400 that names the field and why. */
export function parseActivityQuery(query: unknown, timeZone: string): ActivityQuery {
  const parsed = activityQuery.safeParse(query ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const field = [...issue.path, ...keys].join('.') || 'query';
    throw refuse(field, issue.code === 'unrecognized_keys' ? 'is not a known filter' : issue.message);
  }
  const q = parsed.data;
  const at = (field: 'from' | 'to') => {
    const value = q[field];
    if (value === undefined) return undefined;
    const instant = localDateTimeInstant(value, timeZone);
    if (!instant) throw refuse(field, `${value} is not a date and time that exists`);
    return instant;
  };
  const from = at('from');
  const to = at('to');
  if (from && to && from.getTime() >= to.getTime()) throw refuse('to', 'must be after from');
  if (q.cursor !== undefined) {
    try {
      decodeCursor(q.cursor);
    } catch (err) {
      if (err instanceof ActivityCursorError) throw refuse('cursor', err.message);
      throw err;
    }
  }
  const values: ActivityQuery['values'] = {};
  for (const f of FILTER_FIELDS) if (q[f] !== undefined) values[f] = q[f];
  return {
    filter: {
      userId: q.user,
      type: q.type,
      channel: q.channel,
      status: q.status,
      errorCode: q.error_code,
      from,
      to,
      notificationId: q.notification_id,
      providerMessageId: q.sid,
    },
    cursor: q.cursor,
    values,
  };
}

/** The filters as a query string (no cursor): the same list again, its export, its stream. */
export function filterSearch(values: ActivityQuery['values'], extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const f of FILTER_FIELDS) if (values[f] !== undefined) params.set(f, values[f]);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params.toString();
}
