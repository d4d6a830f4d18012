import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../db/database.ts';
import { type Html, html } from '../http/html.ts';
import { listVariantTests, type VariantReport } from '../stats/variant-figures.ts';
import { layout } from './layout.ts';
import type { ConsoleGuard } from './session-routes.ts';

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(1)} %`);

function testSection(r: VariantReport): Html {
  return html`<section class="variant-test" id="variant-test-${String(r.group_id)}">
<h2><code>${r.type}</code> ${r.channel} ${r.locale}: ${r.status}${r.promoted_variant ? ` (promoted ${r.promoted_variant})` : ''}</h2>
<p>Started ${r.created_at.slice(0, 19).replace('T', ' ')}; confidence judged on ${r.metric === 'delivered' ? 'the delivered rate' : 'the reply rate'}; promotion needs ${String(r.required_confidence)}.</p>
<div class="scroll" role="region" aria-label="Variants of test ${String(r.group_id)}" tabindex="0"><table>
<thead><tr><th scope="col">Variant</th><th scope="col">Weight</th><th scope="col">Sent</th><th scope="col">Delivered</th><th scope="col">Replies</th><th scope="col">Opt-outs</th><th scope="col">Segments</th><th scope="col">Cost</th><th scope="col">Clicks</th><th scope="col">Confidence</th></tr></thead>
<tbody>${r.variants.map(
    (v) => html`<tr>
<td><code>${v.label}</code></td>
<td>${String(v.weight)}</td>
<td>${String(v.sent)}</td>
<td>${percent(v.delivered_rate)}</td>
<td>${String(v.replies)} (${percent(v.reply_rate)})</td>
<td>${String(v.opt_outs)}</td>
<td>${String(v.segments)}</td>
<td>${
      Object.entries(v.cost)
        .map(([currency, amount]) => `${amount} ${currency}`)
        .join(' + ') || '0'
    }</td>
<td>${String(v.clicks)}</td>
<td>${v.verdict ? `${v.verdict.confidence.toFixed(4)} vs ${v.verdict.rival} (p ${v.verdict.p_value.toFixed(4)})` : '—'}</td>
</tr>`,
  )}</tbody></table></div>
</section>`;
}

/**
 * /console/templates/ab: the A/B tests and their figures, read-only (they are started, promoted
 * and stopped over the API or the CLI, docs/templates.md#ab-variants).
 */
export function registerVariantTestsPage(
  app: FastifyInstance,
  deps: { db: Queryable; requiredConfidence: number },
  guard: ConsoleGuard,
): void {
  app.get('/templates/ab', { schema: { hide: true }, preHandler: guard.page }, async (request, reply) => {
    const tests = await listVariantTests(deps.db, deps.requiredConfidence);
    const main = html`<h1>A/B tests</h1>
<p>Each template's A/B variants with their figures. Start, promote or stop a test with the API
(<code>/api/v1/templates/{type}/{locale}/sms/variants</code>) or <code>templates variants</code> on the
command line.</p>
${tests.length === 0 ? html`<p id="no-variant-tests">No A/B test has been started.</p>` : tests.map(testSection)}`;
    return reply
      .type('text/html; charset=utf-8')
      .send(
        layout({ title: 'A/B tests', signedIn: guard.shell(request, reply, 'templates'), scripts: [] }, main),
      );
  });
}
