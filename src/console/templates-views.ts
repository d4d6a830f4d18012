/**
 * The markup of the template pages. The preview panel is rendered here both for the page and for
 * each live-preview answer, so what the script swaps in is what the page started with.
 */

import type { TemplatePreview } from '../authoring/template-preview.ts';
import { CHANNELS, type ChannelName, NOTIFICATION_TYPE_NAMES } from '../catalog/catalog.ts';
import { type Html, html } from '../http/html.ts';
import { LOCALES, type TemplateField } from '../templates/template-files.ts';
import { CHANNEL_LABELS, formatMoney } from './format.ts';
import { CONSOLE_PATH } from './layout.ts';
import { diffLines } from './line-diff.ts';
import type { TemplateRow, TemplateVersion } from './templates-data.ts';

export function templatePath(key: { type: string; locale: string; field: string }): string {
  return `${CONSOLE_PATH}/templates/${encodeURIComponent(key.type)}/${key.locale}/${key.field}`;
}

function when(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function lintCell(r: TemplateRow): Html {
  if (r.errors.length > 0)
    return html`<span class="lint lint-errors" data-lint="errors">${r.errors.length} error${r.errors.length > 1 ? 's' : ''}</span>`;
  if (r.warnings.length > 0)
    return html`<span class="lint lint-warnings" data-lint="warnings">${r.warnings.length} warning${r.warnings.length > 1 ? 's' : ''}</span>`;
  return html`<span class="lint lint-ok" data-lint="ok">ok</span>`;
}

export type LintStatus = 'ok' | 'warnings' | 'errors';

export function lintStatus(r: TemplateRow): LintStatus {
  return r.errors.length > 0 ? 'errors' : r.warnings.length > 0 ? 'warnings' : 'ok';
}

export interface ListFilter {
  type?: string | undefined;
  channel?: ChannelName | undefined;
  locale?: string | undefined;
  lint?: LintStatus | undefined;
}

function select(
  name: string,
  label: string,
  options: readonly string[],
  current: string | undefined,
  show = (o: string) => o,
) {
  return html`<div><label for="filter-${name}">${label}</label>
<select id="filter-${name}" name="${name}"><option value="">All</option>${options.map(
    (o) => html`<option value="${o}"${o === current ? html` selected` : ''}>${show(o)}</option>`,
  )}</select></div>`;
}

/** A plain GET form: the list is a few hundred rows, narrowed on the server, no script needed. */
function filterForm(f: ListFilter): Html {
  return html`<form method="get" action="${CONSOLE_PATH}/templates" class="template-filter" aria-label="Filter templates">
${select('type', 'Type', NOTIFICATION_TYPE_NAMES, f.type)}
${select('channel', 'Channel', CHANNELS, f.channel, (c) => CHANNEL_LABELS[c as ChannelName])}
${select('locale', 'Locale', LOCALES, f.locale)}
${select('lint', 'Lint', ['ok', 'warnings', 'errors'], f.lint)}
<button type="submit">Filter</button>
</form>`;
}

export function templateListMain(all: TemplateRow[], f: ListFilter): Html {
  const errors = all.filter((r) => lintStatus(r) === 'errors').length;
  const warned = all.filter((r) => lintStatus(r) === 'warnings').length;
  const rows = all.filter(
    (r) =>
      (!f.type || r.type === f.type) &&
      (!f.channel || r.channel === f.channel) &&
      (!f.locale || r.locale === f.locale) &&
      (!f.lint || lintStatus(r) === f.lint),
  );
  return html`<h1>Templates</h1>
<p>Every template by notification type, channel, locale and field, with its active version and what
the lint says when it is rendered with the type's sample context: ${errors} with errors, ${warned} with
warnings only, of ${all.length}. Open one to edit it, preview it as you type, see its history or send a test.
<a href="${CONSOLE_PATH}/templates/ab">A/B tests</a> lists each template's variants and their figures.</p>
${filterForm(f)}
<p id="template-count">${rows.length === all.length ? `All ${all.length} templates.` : `${rows.length} of ${all.length} templates match.`}</p>
<div class="scroll" role="region" aria-label="Templates" tabindex="0"><table id="template-list">
<thead><tr><th scope="col">Type</th><th scope="col">Channel</th><th scope="col">Locale</th><th scope="col">Field</th><th scope="col">Active version</th><th scope="col">Lint</th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr>
<td><a href="${templatePath(r)}"><code>${r.type}</code></a></td>
<td>${CHANNEL_LABELS[r.channel]}</td>
<td>${r.locale}${r.sourceLocale !== r.locale ? html` <span class="note">(English text)</span>` : ''}</td>
<td><code>${r.field}</code></td>
<td>${r.version === null ? html`<span class="note">shipped file</span>` : `v${r.version}`}</td>
<td>${lintCell(r)}</td>
</tr>`,
  )}</tbody></table></div>`;
}

/** The live part of the editor: what the server makes of the text (the script swaps it on input). */
export function previewPanel(p: TemplatePreview, field: TemplateField): Html {
  const rendered = p.rendered[field];
  const renderError = p.errors[field];
  const sms = field === 'sms' ? p.sms : undefined;
  const forcing = sms?.nonGsmCharacters[0];
  const { missing, unused } = p.variables;
  const codePoint = (c: string) =>
    [...c].map((u) => `U+${u.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
  return html`${
    sms &&
    html`<dl class="figures sms-counters">
<div><dt>Encoding</dt><dd id="sms-encoding" data-encoding="${sms.encoding}">${sms.encoding}</dd></div>
<div><dt>Characters (as the network counts)</dt><dd id="sms-characters" data-characters="${sms.characters}">${sms.characters}<span class="note">${sms.perSegment} per segment</span></dd></div>
<div><dt>Segments</dt><dd id="sms-segments" data-segments="${sms.segments}">${sms.segments}</dd></div>
<div><dt>Estimated cost</dt><dd id="sms-cost">${p.sms_cost ? formatMoney(p.sms_cost.amount, p.sms_cost.currency) : '—'}<span class="note">to ${p.sms_cost?.country ?? '—'}, per message</span></dd></div>
</dl>
<p id="sms-forcing" data-char="${forcing ?? ''}">${
      forcing
        ? html`UCS-2 is forced by <strong>“${forcing}”</strong> (${codePoint(forcing)})${
            sms.nonGsmCharacters.length > 1 ? html` and ${sms.nonGsmCharacters.length - 1} more` : ''
          }: 70 characters per segment instead of 160.`
        : sms.encoding === 'GSM-7'
          ? 'Every character is in the GSM-7 alphabet.'
          : ''
    }</p>`
  }
${
  field === 'sms' &&
  html`<p id="dlt-match" data-dlt="${p.dlt ? (p.dlt.matches ? 'match' : 'mismatch') : 'none'}">${
    p.dlt
      ? p.dlt.matches
        ? html`Matches the registered DLT text.`
        : html`<strong>Does not match the registered DLT text</strong>: ${p.dlt.reason}.`
      : 'No DLT template registered for this text.'
  }</p>`
}
<h3>Rendered with the sample context</h3>
${
  renderError
    ? html`<p class="error" id="render-error">${renderError.code}: ${renderError.detail}</p>`
    : html`<pre class="rendered" id="rendered-text">${rendered ?? ''}</pre>`
}
<p id="missing-variables" data-missing="${missing.join(' ')}">${
    missing.length > 0
      ? html`Not in the sample context: ${missing.map((v, i) => html`${i ? ', ' : ''}<code>${v}</code>`)}.`
      : 'Every variable used is in the sample context.'
  }${unused.length > 0 ? html` <span class="note">Not used: ${unused.join(', ')}.</span>` : ''}</p>
<div id="lint-errors" data-count="${p.check.errors.length}">${
    p.check.errors.length > 0 &&
    html`<div class="error"><p>A save would be refused:</p><ul>${p.check.errors.map(
      (e) => html`<li><code>${e.code}</code> ${e.message}</li>`,
    )}</ul></div>`
  }</div>
<div id="lint-warnings" data-count="${field === 'sms' ? p.check.warnings.length : 0}">${
    field === 'sms' &&
    p.check.warnings.length > 0 &&
    html`<div class="warning"><p>Lint warnings (a save is allowed):</p><ul>${p.check.warnings.map(
      (w) => html`<li><code>${w.code}</code> ${w.message}</li>`,
    )}</ul></div>`
  }</div>`;
}

export function historySection(
  key: { type: string; locale: string; field: string },
  versions: TemplateVersion[],
  canChange: boolean,
  csrfToken: string,
): Html {
  if (versions.length === 0)
    return html`<p>Never saved: the active text is the file shipped in <code>templates/</code>. A save makes version 1.</p>`;
  return html`<div class="scroll" role="region" aria-label="Versions" tabindex="0"><table id="template-history">
<thead><tr><th scope="col">Version</th><th scope="col">Saved (UTC)</th><th scope="col">By</th><th scope="col">Changes</th>${canChange ? html`<th scope="col">Revert</th>` : ''}</tr></thead>
<tbody>${versions.map(
    (v) => html`<tr data-version="${v.version}">
<td>v${v.version}${v.active ? html` <strong>(active)</strong>` : ''}</td>
<td><time datetime="${v.createdAt.toISOString()}">${when(v.createdAt)}</time></td>
<td>${v.createdBy ?? '—'}</td>
<td><a href="${templatePath(key)}?diff=${v.version}#diff">Diff with the previous version</a></td>
${
  canChange &&
  html`<td>${
    v.active
      ? html`<span class="note">active</span>`
      : html`<form method="post" action="${templatePath(key)}/revert">
<input type="hidden" name="_csrf" value="${csrfToken}"><input type="hidden" name="version" value="${v.version}">
<button type="submit">Revert to v${v.version}</button></form>`
  }</td>`
}
</tr>`,
  )}</tbody></table></div>`;
}

/** The lines a version changed against the one before it (or against nothing, for the first). */
export function diffSection(versions: TemplateVersion[], version: number): Html {
  const at = versions.findIndex((v) => v.version === version);
  const current = versions[at];
  if (!current) return html`<p class="error">There is no version ${version}.</p>`;
  const previous = versions[at + 1];
  const lines = diffLines(previous?.source ?? '', current.source);
  const sign = { same: ' ', added: '+', removed: '−' } as const;
  return html`<h3>Version ${version} against ${previous ? `version ${previous.version}` : 'nothing (the first saved version)'}</h3>
<pre class="diff">${lines.map((l) => {
    const text = `${sign[l.kind]} ${l.text}\n`;
    return l.kind === 'added'
      ? html`<ins>${text}</ins>`
      : l.kind === 'removed'
        ? html`<del>${text}</del>`
        : text;
  })}</pre>`;
}
