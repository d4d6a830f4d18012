import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { CHANNELS, NOTIFICATION_TYPE_NAMES } from '../catalog/catalog.ts';
import type { Clock } from '../clock.ts';
import type { Database } from '../db/database.ts';
import { DELIVERY_STATUSES } from '../db/schema.ts';
import { type ActivityDelivery, type ActivityPage, activityPage } from '../deliveries/activity-query.ts';
import { type Html, html } from '../http/html.ts';
import { activityCsv } from './activity-csv.ts';
import { type ActivityQuery, filterSearch, parseActivityQuery } from './activity-filter.ts';
import { CHANNEL_LABELS } from './format.ts';
import { CONSOLE_PATH, layout } from './layout.ts';
import { type LiveStreamDeps, streamSnapshots } from './live.ts';
import { registerNotificationPage } from './notification-page.ts';
import type { ConsoleGuard } from './session-routes.ts';
import { formatLocalDateTime } from './zoned-time.ts';

export interface ActivityDeps extends LiveStreamDeps {
  database: Database;
  clock: Clock;
  /** Times shown and typed in this zone (STATS_TIME_ZONE). */
  timeZone: string;
  guard: ConsoleGuard;
}

const PAGE_SIZE = 50;

/** A delivery's status as a badge: the word (never colour alone), and why it was skipped or failed. */
export function statusBadge(
  d: Pick<ActivityDelivery, 'channel' | 'status' | 'skip_reason' | 'error_code'>,
): Html {
  const why = d.skip_reason ?? d.error_code;
  return html`<span class="badge status-${d.status}">${CHANNEL_LABELS[d.channel]}: ${d.status}${
    why ? html` <code>${why}</code>` : ''
  }</span>`;
}

function resultRows(page: ActivityPage, timeZone: string): Html {
  return html`${page.items.map(
    (n) => html`<tr>
<td><time datetime="${n.created_at}">${formatLocalDateTime(new Date(n.created_at), timeZone)}</time></td>
<td><a href="${CONSOLE_PATH}/notifications/${encodeURIComponent(n.notification_id)}">${n.notification_id}</a></td>
<td><a href="${CONSOLE_PATH}/activity?user=${encodeURIComponent(n.user_id)}">${n.user_id}</a></td>
<td>${n.type}</td>
<td><ul class="badges">${n.deliveries.map((d) => html`<li>${statusBadge(d)}</li>`)}</ul></td>
</tr>`,
  )}`;
}

/** The results: what the page shows first and what its live stream replaces (first page only). */
function results(page: ActivityPage, q: ActivityQuery, timeZone: string): Html {
  if (page.items.length === 0) return html`<p>No notification matches these filters.</p>`;
  return html`<div class="scroll" role="region" aria-label="Notifications" tabindex="0"><table class="activity">
<caption>Notifications, newest first (times in ${timeZone})</caption>
<thead><tr><th scope="col">Created</th><th scope="col">Notification</th><th scope="col">User</th><th scope="col">Type</th><th scope="col">Deliveries</th></tr></thead>
<tbody>${resultRows(page, timeZone)}</tbody></table></div>
${
  page.next_cursor
    ? html`<p><a rel="next" href="${CONSOLE_PATH}/activity?${filterSearch(q.values, { cursor: page.next_cursor })}">Older</a></p>`
    : ''
}`;
}

const option = (value: string, label: string, selected: string | undefined) =>
  html`<option value="${value}"${value === selected ? html` selected` : ''}>${label}</option>`;

function select(
  name: string,
  label: string,
  values: readonly string[],
  chosen: string | undefined,
  show = (v: string) => v,
) {
  return html`<div class="field"><label for="f-${name}">${label}</label>
<select id="f-${name}" name="${name}">${option('', 'Any', chosen)}${values.map((v) => option(v, show(v), chosen))}</select></div>`;
}

function input(name: string, label: string, value: string | undefined, type = 'text') {
  return html`<div class="field"><label for="f-${name}">${label}</label>
<input id="f-${name}" name="${name}" type="${type}" value="${value ?? ''}"${type === 'datetime-local' ? html` step="1" aria-describedby="time-zone-note"` : html` spellcheck="false" autocomplete="off"`}></div>`;
}

function filterForm(v: ActivityQuery['values'], timeZone: string): Html {
  return html`<form method="get" action="${CONSOLE_PATH}/activity" class="filters" aria-label="Filter the activity">
${input('user', 'User id', v.user)}
${select('type', 'Type', NOTIFICATION_TYPE_NAMES, v.type)}
${select('channel', 'Channel', CHANNELS, v.channel, (c) => CHANNEL_LABELS[c as keyof typeof CHANNEL_LABELS])}
${select('status', 'Delivery status', DELIVERY_STATUSES, v.status)}
${input('error_code', 'Error code', v.error_code)}
${input('from', 'From (inclusive)', v.from, 'datetime-local')}
${input('to', 'To (exclusive)', v.to, 'datetime-local')}
${input('notification_id', 'Notification id', v.notification_id)}
${input('sid', 'Provider message id (SID)', v.sid)}
<p id="time-zone-note" class="note wide">Times are in ${timeZone} (STATS_TIME_ZONE). Channel, status, error code and SID match one delivery: "SMS + failed" is an SMS that failed.</p>
<div class="wide"><button type="submit">Filter</button> <a href="${CONSOLE_PATH}/activity">Clear the filters</a></div>
</form>`;
}

/**
 * /console/activity (every notification, filtered, cursor-paginated, the first page live),
 * /console/activity/live (its stream), /console/activity.csv (the export; viewers too), and the
 * notification pages (notification-page.ts).
 */
export function registerActivity(app: FastifyInstance, deps: ActivityDeps): void {
  const db = deps.database.db;
  const firstPage = (q: ActivityQuery) => activityPage(db, q.filter, { limit: PAGE_SIZE });

  app.get('/activity', { schema: { hide: true }, preHandler: deps.guard.page }, async (request, reply) => {
    const q = parseActivityQuery(request.query, deps.timeZone);
    const page = await activityPage(db, q.filter, { limit: PAGE_SIZE, cursor: q.cursor });
    const search = filterSearch(q.values);
    const live = q.cursor === undefined;
    const main = html`<h1>Activity</h1>
<p>Every notification and what became of each of its deliveries. Open one for its timeline.</p>
${filterForm(q.values, deps.timeZone)}
<p class="export"><a href="${CONSOLE_PATH}/activity.csv${search ? `?${search}` : ''}" download>Export these as CSV</a> (every matching delivery, not just this page)</p>
<p><span id="live-status" role="status">${live ? '' : 'An older page: it does not update live. The first page does.'}</span></p>
<div id="activity-results"${live ? html` data-live-stream="${CONSOLE_PATH}/activity/live${search ? `?${search}` : ''}" data-live-connected="Live: new notifications matching the filters appear here as they are created."` : ''}>${results(page, q, deps.timeZone)}</div>`;
    return reply.type('text/html; charset=utf-8').send(
      layout(
        {
          title: 'Activity',
          signedIn: deps.guard.shell(request, reply, 'activity'),
          ...(live && { scripts: ['live-stream.js'] }),
        },
        main,
      ),
    );
  });

  app.get(
    '/activity/live',
    { schema: { hide: true }, config: { longLived: true }, preHandler: deps.guard.data },
    async (request, reply) => {
      const q = parseActivityQuery(request.query, deps.timeZone);
      if (q.cursor !== undefined) {
        return reply
          .code(400)
          .type('text/plain; charset=utf-8')
          .send('Only the first page is live: drop the cursor');
      }
      streamSnapshots(deps, request, reply, `activity:${filterSearch(q.values)}`, async () =>
        JSON.stringify({
          sections: { 'activity-results': results(await firstPage(q), q, deps.timeZone).value },
        }),
      );
    },
  );

  app.get(
    '/activity.csv',
    { schema: { hide: true }, preHandler: deps.guard.page },
    async (request, reply) => {
      const q = parseActivityQuery(request.query, deps.timeZone);
      const stamp = new Date(deps.clock.now()).toISOString().slice(0, 19).replaceAll(':', '');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="activity-${stamp}Z.csv"`)
        .header('cache-control', 'no-store')
        .send(Readable.from(activityCsv(db, q.filter)));
    },
  );

  registerNotificationPage(app, deps);
}
