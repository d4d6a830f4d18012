import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Queryable } from '../db/database.ts';
import { type Html, html } from '../http/html.ts';
import { type AuditRecord, listAudit } from './audit-log.ts';
import { CONSOLE_PATH, layout } from './layout.ts';
import type { ConsoleGuard } from './session-routes.ts';

const PAGE_SIZE = 50;

const auditQuery = z
  .object({
    before: z.coerce.number().int().positive().optional(),
    target_type: z.string().max(64).optional(),
    target_id: z.string().max(128).optional(),
  })
  .strict();

/**
 * The fields that differ between before and after (top level; a nested change shows as its whole
 * field), so an entry reads as what changed rather than two documents to compare by eye.
 */
export function changedFields(
  before: unknown,
  after: unknown,
): Array<{ field: string; before: string; after: string }> {
  const asObject = (v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  const b = before === null || before === undefined ? {} : asObject(before);
  const a = after === null || after === undefined ? {} : asObject(after);
  const show = (v: unknown) => (v === undefined ? '—' : JSON.stringify(v, null, 1));
  return [...new Set([...Object.keys(b), ...Object.keys(a)])]
    .filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]))
    .map((field) => ({ field, before: show(b[field]), after: show(a[field]) }));
}

function entryRow(e: AuditRecord): Html {
  const changes = changedFields(e.before, e.after);
  return html`<tr>
<td><time datetime="${e.at.toISOString()}">${e.at.toISOString().slice(0, 19).replace('T', ' ')}</time></td>
<td>${e.actor}</td>
<td><code>${e.action}</code></td>
<td><a href="${CONSOLE_PATH}/audit?target_type=${encodeURIComponent(e.targetType)}&amp;target_id=${encodeURIComponent(e.targetId)}">${e.targetType} ${e.targetId}</a></td>
<td>${
    changes.length === 0
      ? 'no field changed'
      : html`<dl class="changes">${changes.map(
          (c) => html`<dt>${c.field}</dt><dd><del>${c.before}</del> <ins>${c.after}</ins></dd>`,
        )}</dl>`
  }</td>
</tr>`;
}

/** /console/audit: every change made from the console, newest first, for one target or all. */
export function registerAuditPage(app: FastifyInstance, db: Queryable, guard: ConsoleGuard): void {
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(
      '/audit',
      { schema: { hide: true, querystring: auditQuery }, preHandler: guard.page },
      async (request, reply) => {
        const q = request.query;
        const { entries, more } = await listAudit(db, {
          beforeId: q.before,
          targetType: q.target_type,
          targetId: q.target_id,
          limit: PAGE_SIZE,
        });
        const filter = q.target_type ? `${q.target_type}${q.target_id ? ` ${q.target_id}` : ''}` : undefined;
        const keep = new URLSearchParams();
        if (q.target_type) keep.set('target_type', q.target_type);
        if (q.target_id) keep.set('target_id', q.target_id);
        const last = entries.at(-1);
        if (last) keep.set('before', String(last.id));
        const main = html`<h1>Audit log${filter ? html`: ${filter}` : ''}</h1>
<p>Every change made from the console: who made it, when, and what it changed.${
          filter ? html` <a href="${CONSOLE_PATH}/audit">Show every entry</a>.` : ''
        }</p>
${
  entries.length === 0
    ? html`<p>No changes recorded${filter ? ' for this target' : ''}.</p>`
    : html`<div class="scroll" role="region" aria-label="Audit entries" tabindex="0"><table>
<thead><tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Target</th><th scope="col">Change</th></tr></thead>
<tbody>${entries.map(entryRow)}</tbody></table></div>`
}
${more ? html`<p><a rel="next" href="${CONSOLE_PATH}/audit?${keep.toString()}">Older entries</a></p>` : ''}`;
        return reply
          .type('text/html; charset=utf-8')
          .send(layout({ title: 'Audit log', signedIn: guard.shell(request, reply, 'audit') }, main));
      },
    );
}
