import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DeliveryErrorInfo } from '../channels/delivery-error-info.ts';
import { maskPhonesIn } from '../channels/sms/phone.ts';
import {
  type DeliveryTimeline,
  type NotificationTimeline,
  notificationTimeline,
} from '../deliveries/delivery-timeline.ts';
import { resendFailedDelivery } from '../deliveries/resend.ts';
import { AppError } from '../errors.ts';
import { type Html, html } from '../http/html.ts';
import type { ActivityDeps } from './activity-page.ts';
import { recordAudit } from './audit-log.ts';
import { CHANNEL_LABELS, formatMoney } from './format.ts';
import { CONSOLE_PATH, layout } from './layout.ts';
import { streamSnapshots } from './live.ts';
import { formatLocalDateTime } from './zoned-time.ts';

const params = z.object({ notificationId: z.string().min(1).max(128) }).strict();
const resendParams = params.extend({ deliveryId: z.coerce.number().int().positive() }).strict();
const resendBody = z.object({ _csrf: z.string() });
/** After a resend, the page says it was done (post/redirect/get). */
const pageQuery = z.object({ resent: z.coerce.number().int().positive().optional() }).strict();

/** What the delivery sections show differently per operator: the resend form is an admin's. */
interface Viewer {
  admin: boolean;
  csrfToken: string;
}

const pageUrl = (id: string) => `${CONSOLE_PATH}/notifications/${encodeURIComponent(id)}`;

function errorCell(e: DeliveryErrorInfo | null): Html {
  if (!e) return html`—`;
  return html`<code>${e.code}</code>${e.known ? html` — ${e.meaning}` : html` — not in the error catalogue`} <span class="note">(${e.docs})</span>`;
}

/** Each content field's label, in the order shown (jsonb keeps keys shortest first: "text" before "subject"). */
const CONTENT_FIELDS: ReadonlyArray<[string, string]> = [
  ['subject', 'Subject'],
  ['title', 'Title'],
  ['body', 'Text'],
  ['text', 'Text'],
];

/** What the latest attempt rendered (details.content, channel.ts DeliveryContent), or why there is none. */
function renderedContent(d: DeliveryTimeline): Html {
  if (d.channel === 'in_app') return html`<p class="note">The notification's title and message above.</p>`;
  const content = d.details?.['content'];
  if (!content || typeof content !== 'object') {
    return html`<p class="note">${d.status === 'skipped' || d.status === 'queued' ? 'Not rendered: no attempt has composed this message.' : 'Not recorded for this delivery (sent before content was kept, or its template could not render).'}</p>`;
  }
  const fields = content as Record<string, unknown>;
  return html`<dl class="content">${CONTENT_FIELDS.filter(([k]) => typeof fields[k] === 'string').map(([k, label]) => html`<dt>${label}</dt><dd>${String(fields[k])}</dd>`)}</dl>`;
}

/** A phone number in what the channel stored (its `to`, a provider's error text) is shown masked. */
const shown = (value: unknown) => (typeof value === 'string' ? maskPhonesIn(value) : value);

/** What the channel stored about its message, key by key (JSON values as text, escaped). */
function stored(d: DeliveryTimeline): Html {
  const entries = [
    ...Object.entries(d.details ?? {})
      .filter(([k]) => k !== 'content')
      .map(([k, v]) => [`details.${k}`, v] as const),
    ...Object.entries(d.metadata).flatMap(([part, v]) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.entries(v).map(([k, w]) => [`${part}.${k}`, shown(w)] as const)
        : [[part, v] as const],
    ),
  ];
  if (entries.length === 0)
    return html`<p class="note">The channel stored nothing about this message yet.</p>`;
  return html`<dl class="stored">${entries.map(([k, v]) => html`<dt>${k}</dt><dd>${JSON.stringify(v)}</dd>`)}</dl>`;
}

function timeline(d: DeliveryTimeline, timeZone: string): Html {
  return html`<div class="scroll" role="region" aria-label="${CHANNEL_LABELS[d.channel]} timeline" tabindex="0"><table>
<caption>${CHANNEL_LABELS[d.channel]} timeline, oldest first (times in ${timeZone})</caption>
<thead><tr><th scope="col">When</th><th scope="col">Change</th><th scope="col">Provider status</th><th scope="col">Error</th><th scope="col">Detail</th></tr></thead>
<tbody>${rowsByTime(d).map((row) =>
    'to' in row
      ? html`<tr>
<td><time datetime="${row.at.toISOString()}">${formatLocalDateTime(row.at, timeZone)}</time></td>
<td>${row.from ?? 'created'} → <strong>${row.to}</strong></td>
<td>${row.providerStatus ?? '—'}</td>
<td>${errorCell(row.error)}</td>
<td>${row.detail ? maskPhonesIn(row.detail) : '—'}</td>
</tr>`
      : html`<tr class="click">
<td><time datetime="${row.at.toISOString()}">${formatLocalDateTime(row.at, timeZone)}</time></td>
<td>link clicked (${row.client})</td>
<td>—</td>
<td>—</td>
<td>${row.target}</td>
</tr>`,
  )}</tbody></table></div>`;
}

/** The history and the link clicks in one order (a click lands between provider reports). */
function rowsByTime(
  d: DeliveryTimeline,
): Array<DeliveryTimeline['steps'][number] | DeliveryTimeline['clicks'][number]> {
  return [...d.steps, ...d.clicks].sort((a, b) => a.at.getTime() - b.at.getTime());
}

function deliverySection(
  n: NotificationTimeline,
  d: DeliveryTimeline,
  timeZone: string,
  viewer: Viewer,
): Html {
  const label = CHANNEL_LABELS[d.channel];
  return html`<section aria-labelledby="h-delivery-${d.id}" class="delivery" data-delivery="${d.channel}" data-status="${d.status}">
<h2 id="h-delivery-${d.id}">${label} <span class="badge status-${d.status}">${d.status}</span></h2>
<dl class="figures">
<div><dt>Attempts</dt><dd>${d.attempts} of ${d.maxAttempts}</dd></div>
${d.nextAttemptAt ? html`<div><dt>Next attempt due</dt><dd><time datetime="${d.nextAttemptAt.toISOString()}">${formatLocalDateTime(d.nextAttemptAt, timeZone)}</time></dd></div>` : ''}
<div><dt>Provider message id</dt><dd>${d.providerMessageId ? html`<code>${d.providerMessageId}</code>` : '—'}</dd></div>
<div><dt>Provider status</dt><dd>${d.providerStatus ?? '—'}</dd></div>
<div><dt>Price</dt><dd>${d.cost ? formatMoney(d.cost.amount, d.cost.currency) : '—'}</dd></div>
</dl>
${d.skipReason ? html`<p><strong>Skipped:</strong> ${errorCell(d.skipReason)}${d.errorMessage ? html` (${maskPhonesIn(d.errorMessage)})` : ''}</p>` : ''}
${d.error ? html`<p><strong>Error:</strong> ${errorCell(d.error)}${d.errorMessage ? html`<br><span class="note">${maskPhonesIn(d.errorMessage)}</span>` : ''}</p>` : ''}
${
  d.status === 'failed'
    ? viewer.admin
      ? html`<form method="post" action="${pageUrl(n.notificationId)}/deliveries/${d.id}/resend" class="resend">
<input type="hidden" name="_csrf" value="${viewer.csrfToken}">
<button type="submit">Resend this ${label} delivery</button>
<span class="note">A new attempt, due now, recorded in the audit log.</span></form>`
      : html`<p class="note">An admin can resend this failed delivery.</p>`
    : ''
}
<h3>Content</h3>
${renderedContent(d)}
<h3>What the channel stored</h3>
${stored(d)}
<h3>Timeline</h3>
${timeline(d, timeZone)}
</section>`;
}

/** The deliveries, as the page shows them first and its live stream replaces them. */
function deliveriesMarkup(n: NotificationTimeline, timeZone: string, viewer: Viewer): Html {
  if (n.deliveries.length === 0) return html`<p>This notification has no deliveries.</p>`;
  return html`${n.deliveries.map((d) => deliverySection(n, d, timeZone, viewer))}`;
}

function notificationMain(n: NotificationTimeline, timeZone: string, viewer: Viewer, notice?: Html): Html {
  return html`<h1>Notification <code>${n.notificationId}</code></h1>
${notice ?? ''}
<dl class="figures">
<div><dt>Type</dt><dd>${n.type}</dd></div>
<div><dt>Category</dt><dd>${n.category}</dd></div>
<div><dt>Priority</dt><dd>${n.priority}</dd></div>
<div><dt>User</dt><dd><a href="${CONSOLE_PATH}/activity?user=${encodeURIComponent(n.userId)}">${n.userId}</a></dd></div>
<div><dt>Created</dt><dd><time datetime="${n.createdAt.toISOString()}">${formatLocalDateTime(n.createdAt, timeZone)}</time> (${timeZone})</dd></div>
<div><dt>Read</dt><dd>${n.readAt ? formatLocalDateTime(n.readAt, timeZone) : 'not yet'}</dd></div>
</dl>
<section aria-labelledby="h-content"><h2 id="h-content">Content</h2>
<p class="note">As rendered when it was created: the inbox shows this. SMS, email and push are rendered at send time in the user's language; what each one's latest attempt sent is under its delivery.</p>
<dl class="content"><dt>Title</dt><dd>${n.title}</dd><dt>Message</dt><dd>${n.message}</dd></dl></section>
<p><span id="live-status" role="status"></span></p>
<div id="deliveries" data-live-stream="${pageUrl(n.notificationId)}/live" data-live-connected="Live: the deliveries update here as they change.">${deliveriesMarkup(n, timeZone, viewer)}</div>`;
}

/**
 * /console/notifications/:id: one notification, its content and each delivery's timeline, updated
 * live (its own stream per session: the resend form carries that session's CSRF token); a POST
 * resends a failed delivery (admins; audited in the same transaction).
 */
export function registerNotificationPage(app: FastifyInstance, deps: ActivityDeps): void {
  const db = deps.database.db;
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const find = async (id: string) => {
    const n = await notificationTimeline(db, id);
    if (!n) throw new AppError('NOTIFICATION_NOT_FOUND', `There is no notification ${id}.`);
    return n;
  };
  const viewerOf = (request: FastifyRequest, reply: FastifyReply): Viewer => ({
    admin: request.consoleOperator?.role === 'admin',
    csrfToken: reply.generateCsrf(),
  });
  const send = (request: FastifyRequest, reply: FastifyReply, n: NotificationTimeline, notice?: Html) =>
    reply.type('text/html; charset=utf-8').send(
      layout(
        {
          title: `Notification ${n.notificationId}`,
          signedIn: deps.guard.shell(request, reply, 'activity'),
          scripts: ['live-stream.js'],
        },
        notificationMain(n, deps.timeZone, viewerOf(request, reply), notice),
      ),
    );

  routes.get(
    '/notifications/:notificationId',
    { schema: { hide: true, params, querystring: pageQuery }, preHandler: deps.guard.page },
    async (request, reply) => {
      const { resent } = request.query;
      const notice =
        resent === undefined
          ? undefined
          : html`<div class="notice" role="status"><p>Delivery ${resent} resent: it is queued, due now.</p></div>`;
      return send(request, reply, await find(request.params.notificationId), notice);
    },
  );

  routes.get(
    '/notifications/:notificationId/live',
    { schema: { hide: true, params }, config: { longLived: true }, preHandler: deps.guard.data },
    async (request, reply) => {
      const id = request.params.notificationId;
      await find(id);
      const viewer = viewerOf(request, reply);
      const session = request.consoleOperator!.sessionId;
      streamSnapshots(deps, request, reply, `notification:${id}:${session}`, async () => {
        const n = await find(id);
        return JSON.stringify({ sections: { deliveries: deliveriesMarkup(n, deps.timeZone, viewer).value } });
      });
    },
  );

  routes.post(
    '/notifications/:notificationId/deliveries/:deliveryId/resend',
    {
      schema: { hide: true, params: resendParams, body: resendBody },
      preHandler: deps.guard.change,
      preValidation: app.csrfProtection,
    },
    async (request, reply) => {
      const { notificationId, deliveryId } = request.params;
      const n = await find(notificationId);
      const delivery = n.deliveries.find((d) => d.id === deliveryId);
      if (!delivery)
        throw new AppError('NOT_FOUND', `Notification ${notificationId} has no delivery ${deliveryId}.`);
      const operator = request.consoleOperator!;
      const now = new Date(deps.clock.now());
      const resent = await db.transaction(async (tx) => {
        const r = await resendFailedDelivery(
          tx,
          deliveryId,
          `resent from the console by ${operator.name}`,
          now,
        );
        if (r) {
          await recordAudit(
            tx,
            operator,
            {
              action: 'delivery.resent',
              targetType: 'delivery',
              targetId: r.id,
              before: r.before,
              after: r.after,
            },
            now,
          );
        }
        return r;
      });
      if (resent) return reply.redirect(`${pageUrl(notificationId)}?resent=${deliveryId}`, 303);
      // Someone else resent it first (or it was never failed): nothing was written; say so, show it now.
      reply.code(409);
      return send(
        request,
        reply,
        await find(notificationId),
        html`<div class="error" role="alert"><p>Not resent: the ${CHANNEL_LABELS[delivery.channel]} delivery is not failed (any more) — it was already resent, or it never failed. Its status now is below.</p></div>`,
      );
    },
  );
}
