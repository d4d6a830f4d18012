import type { Queryable } from '../db/database.ts';
import {
  ACTIVITY_PAGE_MAX,
  type ActivityDelivery,
  type ActivityFilter,
  activityPage,
} from '../deliveries/activity-query.ts';

/**
 * The activity list as CSV (RFC 4180): one row per delivery of every matching notification (only
 * the deliveries that match the delivery filters — channel, status, error code, SID — when some
 * are given: "the SMS that failed", not their in-app siblings), read a
 * page at a time through the list's cursor, so an export of a million rows is many small queries
 * and a stream, never one result held in memory.
 */

export const CSV_COLUMNS = [
  'notification_id',
  'created_at',
  'user_id',
  'type',
  'channel',
  'status',
  'skip_reason',
  'error_code',
  'provider_message_id',
  'attempts',
] as const;

/**
 * One cell: quoted when it holds a quote, comma or line break (quotes doubled). A text starting
 * with = + - @ (or a tab or carriage return) gets a leading ' so a spreadsheet shows it instead of
 * running it as a formula: user ids, types and provider ids come from outside.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(cells: readonly (string | number | null)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** The delivery has every delivery filter given (as the list's query matches a notification). */
function matches(d: ActivityDelivery, f: ActivityFilter): boolean {
  return (
    (f.channel === undefined || d.channel === f.channel) &&
    (f.status === undefined || d.status === f.status) &&
    (f.errorCode === undefined || d.error_code === f.errorCode) &&
    (f.providerMessageId === undefined || d.provider_message_id === f.providerMessageId)
  );
}

/** The header, then the rows of every page, newest notification first. */
export async function* activityCsv(q: Queryable, filter: ActivityFilter, pageSize = ACTIVITY_PAGE_MAX) {
  yield csvLine(CSV_COLUMNS);
  let cursor: string | undefined;
  do {
    const page = await activityPage(q, filter, { limit: pageSize, cursor });
    let chunk = '';
    for (const n of page.items) {
      for (const d of n.deliveries.filter((d) => matches(d, filter))) {
        chunk += csvLine([
          n.notification_id,
          n.created_at,
          n.user_id,
          n.type,
          d.channel,
          d.status,
          d.skip_reason,
          d.error_code,
          d.provider_message_id,
          d.attempts,
        ]);
      }
    }
    if (chunk) yield chunk;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
