/**
 * The editor page of one template field: the source in a labelled textarea (the DLT fields beside an
 * SMS text), the server's live preview, the history with a diff, and the sandbox test send.
 */

import type { TemplatePreview } from '../authoring/template-preview.ts';
import type { NotificationTypeDef } from '../catalog/catalog.ts';
import { type Html, html } from '../http/html.ts';
import type { TemplateField } from '../templates/template-files.ts';
import { CHANNEL_LABELS } from './format.ts';
import { CONSOLE_PATH } from './layout.ts';
import { fieldChannel, type TemplateVersion } from './templates-data.ts';
import { diffSection, historySection, previewPanel, templatePath } from './templates-views.ts';

export interface EditorView {
  key: { type: string; locale: string; field: TemplateField };
  def: NotificationTypeDef;
  /** What the textarea holds: the active text, or the refused one to fix. */
  source: string;
  dltTemplateId: string | undefined;
  dltText: string | undefined;
  activeVersion: number | null;
  preview: TemplatePreview;
  versions: TemplateVersion[];
  diff: number | undefined;
  canChange: boolean;
  csrfToken: string;
  /** A status line after a save, revert or test send. */
  notice?: Html | undefined;
  /** Why a save or revert was refused. */
  refused?: string[] | undefined;
  /** Shown only for an SMS text when the sandbox is the backend (a test never texts a real phone). */
  testSend: boolean;
}

export function editorMain(v: EditorView): Html {
  const action = templatePath(v.key);
  const sms = v.key.field === 'sms';
  const readonly = v.canChange ? '' : html` readonly aria-readonly="true"`;
  return html`<h1>Template <code>${v.key.type}</code> · ${CHANNEL_LABELS[fieldChannel(v.key.field)]} <code>${v.key.field}</code> · ${v.key.locale}</h1>
<p><a href="${CONSOLE_PATH}/templates">All templates</a> · ${v.def.description} · active:
${v.activeVersion === null ? 'the shipped file' : `version ${v.activeVersion}`}</p>
${v.notice && html`<div class="notice" role="status" id="template-notice">${v.notice}</div>`}
${
  v.refused &&
  html`<div class="error" role="alert" id="template-refused"><p>Not saved:</p><ul>${v.refused.map(
    (r) => html`<li>${r}</li>`,
  )}</ul></div>`
}
${
  !v.canChange &&
  html`<p class="note" id="read-only-note">You are signed in with a viewer key: you can read and preview
this template, but saving, reverting and test sends need an admin key.</p>`
}
<div class="template-editor">
<form method="post" action="${action}" id="template-form" class="template-form">
  <input type="hidden" name="_csrf" value="${v.csrfToken}">
  <label for="template-source">Template source (Liquid)</label>
  <textarea id="template-source" name="source" rows="8" spellcheck="false" maxlength="5000"
    aria-describedby="template-source-help"${readonly}>${v.source}</textarea>
  <p id="template-source-help" class="note">Variables of <code>${v.key.type}</code>:
  ${v.def.variables.map((name, i) => html`${i ? ', ' : ''}<code>${name}</code>`)}. The preview renders
  with the type's sample context as you type; the server counts, so it is what Twilio will bill.</p>
  ${
    sms &&
    html`<label for="dlt-template-id">DLT template id</label>
  <input id="dlt-template-id" name="dlt_template_id" value="${v.dltTemplateId ?? ''}" inputmode="numeric"
    maxlength="32" aria-describedby="dlt-help"${readonly}>
  <label for="dlt-text">Registered DLT text</label>
  <textarea id="dlt-text" name="dlt_text" rows="3" maxlength="2000" aria-describedby="dlt-help"${readonly}>${v.dltText ?? ''}</textarea>
  <p id="dlt-help" class="note">India DLT: the text as registered, <code>{#var#}</code> for each value; both empty when none is registered.</p>`
  }
  ${v.canChange && html`<button type="submit">Save as a new version</button>`}
</form>
<section class="template-preview" aria-labelledby="preview-heading">
  <h2 id="preview-heading">Preview</h2>
  <p class="note" id="preview-status" data-state="ready">Updated as you type.</p>
  <div id="template-preview" aria-live="polite" data-url="${CONSOLE_PATH}/templates/preview"
    data-type="${v.key.type}" data-locale="${v.key.locale}" data-field="${v.key.field}">${previewPanel(v.preview, v.key.field)}</div>
</section>
</div>
${
  v.testSend &&
  html`<section aria-labelledby="test-heading">
<h2 id="test-heading">Send a test</h2>
<form method="post" action="${action}/test" class="template-test">
  <input type="hidden" name="_csrf" value="${v.csrfToken}">
  <label for="test-to">Sandbox phone number</label>
  <input id="test-to" name="to" type="tel" required maxlength="20" autocomplete="off" placeholder="+919876543210" aria-describedby="test-help">
  <p id="test-help" class="note">Sends the saved text, rendered with the sample context, through the SMS
  sandbox (the backend here), never to a real phone.</p>
  <button type="submit">Send a test SMS</button>
</form>
</section>`
}
<section aria-labelledby="history-heading">
<h2 id="history-heading">History</h2>
${historySection(v.key, v.versions, v.canChange, v.csrfToken)}
${v.diff !== undefined && html`<div id="diff">${diffSection(v.versions, v.diff)}</div>`}
</section>`;
}
