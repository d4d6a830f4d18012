import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CHANNELS } from '../catalog/catalog.ts';
import { describeDeliveryError } from '../channels/delivery-error-info.ts';
import type { Clock } from '../clock.ts';
import type { Queryable } from '../db/database.ts';
import { Html, html } from '../http/html.ts';
import { type DeliveryStats, deliveryStats } from '../stats/delivery-stats.ts';
import type { SmsProvidersReport } from '../stats/sms-providers.ts';
import { type NamedWindow, resolveWindow, STATS_WINDOWS } from '../stats/stats-window.ts';
import { CHANNEL_LABELS, formatAge, formatCount, formatMoney, formatRate } from './format.ts';
import { CONSOLE_PATH, layout } from './layout.ts';
import type { ConsoleGuard } from './session-routes.ts';
import { smsProvidersSection } from './sms-providers-view.ts';

export interface OverviewDeps {
  db: Queryable;
  timeZone: string;
  clock: Clock;
  /** A channel whose delivery rate is below this percentage is flagged. */
  warningPercent: number;
  /** The SMS providers and the router's state now, as GET /api/v1/sms/providers answers. */
  smsProviders: () => SmsProvidersReport;
}

const WINDOW_LABELS: Record<NamedWindow, string> = {
  today: 'Today',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
};

export const windowQuery = z.object({ window: z.enum(STATS_WINDOWS).default('today') }).strict();

/** The figures of one named window, now by the app's clock: what the page and its live stream show. */
export function overviewStats(deps: OverviewDeps, window: NamedWindow): Promise<DeliveryStats> {
  const now = new Date(deps.clock.now());
  return deliveryStats(deps.db, resolveWindow({ window, timeZone: deps.timeZone, now }), now);
}

/** The time series as the chart script takes it: one x (bucket start, epoch seconds), one y per channel. */
export interface ChartData {
  timeZone: string;
  x: number[];
  series: Array<{ label: string; values: number[] }>;
}

/**
 * What the live stream sends and the page starts from: each section's markup by element id (the
 * script swaps a section only when it changed) and the chart's data. Rendered here, once, so the
 * page and its updates cannot drift apart.
 */
export interface OverviewSnapshot {
  sections: Record<string, string>;
  chart: ChartData;
}

export function overviewSnapshot(stats: DeliveryStats, warningPercent: number): OverviewSnapshot {
  const sections: Record<string, Html> = {
    'as-of': html`Figures as of <time datetime="${stats.generated_at}">${stats.generated_at.slice(11, 19)} UTC</time>.`,
    'rate-warnings': rateWarnings(stats, warningPercent),
    channels: channelTable(stats),
    'sms-cost': smsCost(stats),
    failures: failureTable(stats),
    'volume-table': volumeTable(stats),
    queue: queueTable(stats),
  };
  return {
    sections: Object.fromEntries(Object.entries(sections).map(([id, h]) => [id, h.value])),
    chart: {
      timeZone: stats.window.time_zone,
      x: stats.buckets.map((b) => Date.parse(b.start) / 1000),
      series: CHANNELS.map((c) => ({
        label: CHANNEL_LABELS[c],
        values: stats.buckets.map((b) => b.volume[c]),
      })),
    },
  };
}

function rateWarnings(stats: DeliveryStats, warningPercent: number): Html {
  const low = CHANNELS.filter((c) => {
    const rate = stats.channels[c].delivery_rate;
    return rate !== null && rate * 100 < warningPercent;
  });
  if (low.length === 0) return html``;
  return html`<div class="warning"><h2>Delivery rate below ${warningPercent} %</h2><ul>${low.map(
    (c) =>
      html`<li><strong>${CHANNEL_LABELS[c]}</strong>: ${formatRate(stats.channels[c].delivery_rate)} delivered (${formatCount(stats.channels[c].failed)} failed). See the failures below.</li>`,
  )}</ul></div>`;
}

const stat = (key: string, n: number) => html`<td data-stat="${key}">${formatCount(n)}</td>`;

function channelTable(stats: DeliveryStats): Html {
  const skipped = CHANNELS.filter((c) => stats.channels[c].skipped > 0);
  return html`<div class="scroll" role="region" aria-label="Deliveries per channel" tabindex="0"><table>
<caption>Deliveries created in the window, by their status now</caption>
<thead><tr><th scope="col">Channel</th><th scope="col">Created</th><th scope="col">Handed to provider</th><th scope="col">Sent, no receipt yet</th><th scope="col">Delivered</th><th scope="col">Failed</th><th scope="col">Pending</th><th scope="col">Skipped</th><th scope="col">Delivery rate</th></tr></thead>
<tbody>${CHANNELS.map((c) => {
    const s = stats.channels[c];
    return html`<tr><th scope="row">${CHANNEL_LABELS[c]}</th>${stat(`${c}.total`, s.total)}${stat(`${c}.handed_to_provider`, s.handed_to_provider)}${stat(`${c}.sent`, s.sent)}${stat(`${c}.delivered`, s.delivered)}${stat(`${c}.failed`, s.failed)}${stat(`${c}.pending`, s.pending)}${stat(`${c}.skipped`, s.skipped)}<td data-stat="${c}.delivery_rate">${formatRate(s.delivery_rate)}<span class="basis">${s.rate_basis}</span></td></tr>`;
  })}</tbody>
</table></div>
${
  skipped.length > 0
    ? html`<h3>Why deliveries were skipped</h3><ul class="reasons">${skipped.map((c) =>
        Object.entries(stats.channels[c].skipped_by_reason).map(([reason, n]) => {
          const info = describeDeliveryError(c, reason);
          return html`<li><strong>${CHANNEL_LABELS[c]}</strong> · <code>${reason}</code>: ${formatCount(n)}${info.known ? html` — ${info.meaning}` : ''}</li>`;
        }),
      )}</ul>`
    : html`<p>No delivery was skipped in this window.</p>`
}`;
}

function smsCost(stats: DeliveryStats): Html {
  const c = stats.sms_cost;
  const sms = stats.channels.sms;
  return html`<dl class="figures">
<div><dt>SMS handed to Twilio</dt><dd data-stat="sms_cost.messages">${formatCount(sms.handed_to_provider)}</dd></div>
<div><dt>Segments</dt><dd data-stat="sms_cost.segments">${formatCount(c.segments)}</dd></div>
<div><dt>Estimated cost (at send)</dt><dd data-stat="sms_cost.estimated">${formatMoney(c.estimated, c.currency)}</dd></div>
<div><dt>Reported by Twilio</dt><dd data-stat="sms_cost.reported">${formatMoney(c.reported, c.currency)} <span class="note">(${formatCount(c.priced)} of ${formatCount(sms.handed_to_provider)} priced)</span></dd></div>
</dl>`;
}

function failureTable(stats: DeliveryStats): Html {
  if (stats.failures.length === 0) return html`<p>No delivery failed in this window.</p>`;
  return html`<div class="scroll" role="region" aria-label="Failures by error code" tabindex="0"><table>
<caption>Failed deliveries by channel and error code, most frequent first</caption>
<thead><tr><th scope="col">Channel</th><th scope="col">Code</th><th scope="col">Failed</th><th scope="col">Meaning</th><th scope="col">What to do</th></tr></thead>
<tbody>${stats.failures.map(
    (f) =>
      html`<tr><td>${CHANNEL_LABELS[f.channel]}</td><td><code>${f.code ?? '(none)'}</code></td><td data-stat="failures.${f.channel}.${f.code ?? 'none'}">${formatCount(f.count)}</td><td>${f.meaning ?? 'Not in the error catalogue.'}</td><td>${f.fix ?? '—'}${f.docs ? html` <span class="note">(${f.docs})</span>` : ''}</td></tr>`,
  )}</tbody>
</table></div>`;
}

function volumeTable(stats: DeliveryStats): Html {
  return html`<table>
<caption>Deliveries created per ${stats.window.granularity} (${stats.window.time_zone})</caption>
<thead><tr><th scope="col">${stats.window.granularity === 'day' ? 'Day' : 'Hour'}</th>${CHANNELS.map((c) => html`<th scope="col">${CHANNEL_LABELS[c]}</th>`)}<th scope="col">SMS segments</th><th scope="col">SMS cost (estimated)</th></tr></thead>
<tbody>${stats.buckets.map(
    (b) =>
      html`<tr><th scope="row">${b.label.replace('T', ' ')}</th>${CHANNELS.map((c) => html`<td>${formatCount(b.volume[c])}</td>`)}<td>${formatCount(b.sms.segments)}</td><td>${formatMoney(b.sms.estimated, b.sms.currency)}</td></tr>`,
  )}</tbody>
</table>`;
}

function queueTable(stats: DeliveryStats): Html {
  return html`<div class="scroll" role="region" aria-label="Queue now" tabindex="0"><table>
<caption>Deliveries waiting now (any window)</caption>
<thead><tr><th scope="col">Channel</th><th scope="col">Due now</th><th scope="col">Scheduled later</th><th scope="col">Being sent</th><th scope="col">Oldest due waiting</th></tr></thead>
<tbody>${stats.queue.map(
    (q) =>
      html`<tr><th scope="row">${CHANNEL_LABELS[q.channel]}</th>${stat(`queue.${q.channel}.due`, q.due)}${stat(`queue.${q.channel}.scheduled`, q.scheduled)}${stat(`queue.${q.channel}.sending`, q.sending)}<td>${formatAge(q.oldest_due_age_ms)}</td></tr>`,
  )}</tbody>
</table></div>`;
}

/** A section as the snapshot rendered it (markup this module wrote), marked for the live script. */
const rendered = (snapshot: OverviewSnapshot, id: string) => new Html(snapshot.sections[id] ?? '');
const section = (snapshot: OverviewSnapshot, id: string) =>
  html`<div id="${id}" data-live>${rendered(snapshot, id)}</div>`;

function overviewMain(
  window: NamedWindow,
  stats: DeliveryStats,
  snapshot: OverviewSnapshot,
  providers: Html,
): Html {
  const s = (id: string) => section(snapshot, id);
  return html`<h1>Overview: ${WINDOW_LABELS[window]}</h1>
<nav aria-label="Window" class="windows"><ul>${STATS_WINDOWS.map(
    (w) =>
      html`<li><a href="${CONSOLE_PATH}/overview?window=${w}"${w === window ? html` aria-current="page"` : ''}>${WINDOW_LABELS[w]}</a></li>`,
  )}</ul></nav>
<p class="window">${stats.window.from.slice(0, 16).replace('T', ' ')} to ${stats.window.to.slice(0, 16).replace('T', ' ')} UTC, days and hours in ${stats.window.time_zone}. <span id="as-of" data-live>${rendered(snapshot, 'as-of')}</span> <span id="live-status" role="status"></span></p>
<div aria-live="polite">${s('rate-warnings')}</div>
<section aria-labelledby="h-channels"><h2 id="h-channels">Per channel</h2>${s('channels')}</section>
<section aria-labelledby="h-sms"><h2 id="h-sms">SMS segments and cost</h2>${s('sms-cost')}</section>
<section aria-labelledby="h-failures"><h2 id="h-failures">Failures by error code</h2>${s('failures')}</section>
<section aria-labelledby="h-volume"><h2 id="h-volume">Volume per channel</h2>
<figure><div id="volume-chart" class="chart" data-chart="${JSON.stringify(snapshot.chart)}" role="img" aria-label="Line chart of deliveries created per ${stats.window.granularity} and channel; the same figures are in the table below"></div>
<figcaption><details><summary>The figures as a table</summary><div class="scroll" role="region" aria-label="Volume per channel as a table" tabindex="0">${s('volume-table')}</div></details></figcaption></figure></section>
<section aria-labelledby="h-queue"><h2 id="h-queue">Queue</h2>${s('queue')}</section>
<section aria-labelledby="h-providers"><h2 id="h-providers">SMS providers</h2>${providers}</section>`;
}

export function registerOverviewPage(app: FastifyInstance, deps: OverviewDeps, guard: ConsoleGuard): void {
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(
      '/overview',
      { schema: { hide: true, querystring: windowQuery }, preHandler: guard.page },
      async (request, reply) => {
        const stats = await overviewStats(deps, request.query.window);
        const snapshot = overviewSnapshot(stats, deps.warningPercent);
        return reply.type('text/html; charset=utf-8').send(
          layout(
            {
              title: 'Overview',
              signedIn: guard.shell(request, reply, 'overview'),
              scripts: ['overview.js'],
              styles: [`${CONSOLE_PATH}/vendor/uplot/uPlot.min.css`],
            },
            // Not in the live snapshot: the router's state is as of this page load (reload for now).
            overviewMain(
              request.query.window,
              stats,
              snapshot,
              smsProvidersSection(deps.smsProviders().routing, deps.timeZone),
            ),
          ),
        );
      },
    );
}
