/**
 * `GET …/Messages.json`: Twilio's filters (`To`, `From`, `DateSent`, `DateSent>`, `DateSent<`) and
 * page-number paging, answered newest first in Twilio's list envelope.
 */
import { messagesPath, toMessageResource } from './message-resource.ts';
import type { SandboxMessage } from './message-store.ts';

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const FILTER_KEYS = ['To', 'From', 'DateSent', 'DateSent>', 'DateSent<'] as const;

interface ListQuery {
  to: string | null;
  from: string | null;
  /** Inclusive bounds on the send time, in whole seconds as Twilio stores it. */
  after: number;
  before: number;
  pageSize: number;
  page: number;
}

/** `DateSent>=2026-01-05` means "on or after that day"; a full timestamp is an exact instant. */
function dateBounds(value: string): [number, number] | null {
  if (DATE_ONLY.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(start) ? null : [start, start + DAY_MS - 1];
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : [at, at];
}

export function parseListQuery(search: URLSearchParams): ListQuery | { invalid: string } {
  const query: ListQuery = {
    to: search.get('To'),
    from: search.get('From'),
    after: Number.NEGATIVE_INFINITY,
    before: Number.POSITIVE_INFINITY,
    pageSize: 50,
    page: 0,
  };
  for (const [key, lower, upper] of [
    ['DateSent', true, true],
    ['DateSent>', true, false],
    ['DateSent<', false, true],
  ] as const) {
    const value = search.get(key);
    if (value === null) continue;
    const bounds = dateBounds(value);
    if (bounds === null) return { invalid: key };
    if (lower) query.after = Math.max(query.after, bounds[0]);
    if (upper) query.before = Math.min(query.before, bounds[1]);
  }
  const pageSize = search.get('PageSize');
  if (pageSize !== null) {
    query.pageSize = Number(pageSize);
    if (!Number.isInteger(query.pageSize) || query.pageSize < 1 || query.pageSize > 1000) {
      return { invalid: 'PageSize' };
    }
  }
  const page = search.get('Page');
  if (page !== null) {
    query.page = Number(page);
    if (!Number.isInteger(query.page) || query.page < 0) return { invalid: 'Page' };
  }
  return query;
}

export function matchesQuery(m: SandboxMessage, q: ListQuery): boolean {
  if (q.to !== null && m.to !== q.to) return false;
  if (q.from !== null && m.from !== q.from) return false;
  // A message still queued has no date_sent yet; its creation time stands in so a just-created
  // message is found by "sent since" queries (what crash reconciliation relies on).
  const at = Math.floor((m.dateSent ?? m.dateCreated) / 1000) * 1000;
  return at >= q.after && at <= q.before;
}

export function listResponse(
  matching: SandboxMessage[],
  q: ListQuery,
  search: URLSearchParams,
  accountSid: string,
) {
  const path = `${messagesPath(accountSid)}.json`;
  const filters = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = search.get(key);
    if (value !== null) filters.set(key, value);
  }
  const pageUri = (page: number) => {
    filters.set('PageSize', String(q.pageSize));
    filters.set('Page', String(page));
    return `${path}?${filters.toString()}`;
  };
  const start = q.page * q.pageSize;
  const messages = matching.slice(start, start + q.pageSize).map((m) => toMessageResource(m, accountSid));
  return {
    messages,
    page: q.page,
    page_size: q.pageSize,
    start,
    end: messages.length > 0 ? start + messages.length - 1 : start,
    first_page_uri: pageUri(0),
    next_page_uri: start + q.pageSize < matching.length ? pageUri(q.page + 1) : null,
    previous_page_uri: q.page > 0 ? pageUri(q.page - 1) : null,
    uri: pageUri(q.page),
  };
}
