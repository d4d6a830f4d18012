import { AppError } from '../errors.ts';
import { type Html, html } from '../http/html.ts';
import { type FaultConfig, type FaultRule, faultRuleSchema } from '../sandbox/faults.ts';

/*
 * One number's fault rule as a form: the same kinds, and the same schema, as the sandbox's control
 * API (`PUT /sandbox/faults`, its `byNumber`), so the console can set nothing the sandbox refuses.
 */

const RATES = [
  ['rate429', 'Answer 429 (rate limited)'],
  ['rate5xx', 'Answer 500 or 503 (no message created)'],
  ['rateHang', 'Never answer the create request'],
] as const;
const CREATE_ERRORS = [
  [21610, 'unsubscribed recipient'],
  [21211, 'invalid To number'],
  [21614, 'not a mobile number'],
] as const;
const FINAL_STATUSES = ['delivered', 'undelivered', 'failed'] as const;
const ERROR_CODES = [
  [30003, 'unreachable handset'],
  [30005, 'unknown destination'],
  [30006, 'landline or unreachable carrier'],
  [30007, 'carrier filtered'],
] as const;
const FLAGS = [
  ['duplicateCallbacks', 'Send every status callback twice'],
  ['reorderCallbacks', 'Send the final callback before "sent"'],
] as const;

const NUMBER_FIELDS = ['latencyMs', ...RATES.map(([k]) => k), 'createError', 'errorCode'] as const;

/**
 * The form's fields as a fault rule: empty fields are unset, a ticked box is true. Anything the
 * sandbox's schema refuses is a 400 naming the field.
 */
export function ruleFromForm(form: Record<string, unknown>): FaultRule {
  const text = (k: string) => (typeof form[k] === 'string' ? (form[k] as string).trim() : '');
  const rule: Record<string, unknown> = {};
  for (const k of NUMBER_FIELDS) if (text(k) !== '') rule[k] = Number(text(k));
  if (text('finalStatus') !== '') rule.finalStatus = text('finalStatus');
  for (const [k] of FLAGS) if (text(k) === 'on') rule[k] = true;
  const parsed = faultRuleSchema.safeParse(rule);
  if (!parsed.success)
    throw new AppError(
      'VALIDATION_FAILED',
      `Fault not set: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/** The number's own rule, if one is set (the run-wide defaults apply under it). */
export function ruleOf(config: FaultConfig, number: string): FaultRule | null {
  return config.byNumber?.[number] ?? null;
}

/** The whole configuration with this number's rule replaced, or removed when `rule` is null. */
export function withRule(config: FaultConfig, number: string, rule: FaultRule | null): FaultConfig {
  const { [number]: _old, ...others } = config.byNumber ?? {};
  return { ...config, byNumber: rule === null ? others : { ...others, [number]: rule } };
}

function describe(rule: FaultRule): Html {
  const items = Object.entries(rule).map(([k, v]) => html`<li><code>${k}</code>: ${String(v)}</li>`);
  return html`<ul class="fault-now">${items}</ul>`;
}

const option = (value: string | number, label: string, current: unknown) =>
  html`<option value="${value}"${current === value ? html` selected` : ''}>${label}</option>`;

/** The number's faults now, and (for an admin, who has a CSRF token) the form that changes them. */
export function faultSection(action: string, csrfToken: string | undefined, rule: FaultRule | null): Html {
  return html`<section aria-labelledby="h-faults" class="faults"><h2 id="h-faults">Faults for this number</h2>
${
  rule === null || Object.keys(rule).length === 0
    ? html`<p id="fault-state">No fault is set for this number: its texts go through normally (unless the sandbox runs with run-wide faults).</p>`
    : html`<div id="fault-state"><p>Set now:</p>${describe(rule)}</div>`
}
${csrfToken && faultForm(action, csrfToken, rule ?? {})}</section>`;
}

function faultForm(action: string, csrfToken: string, r: FaultRule): Html {
  return html`<form method="post" action="${action}" class="fault-form">
<input type="hidden" name="_csrf" value="${csrfToken}">
<p><label for="latencyMs">Delay the create response (ms)</label>
<input id="latencyMs" name="latencyMs" type="number" min="0" max="600000" step="1" value="${r.latencyMs ?? ''}"></p>
${RATES.map(
  ([k, label]) =>
    html`<p><label for="${k}">${label}: probability 0–1</label>
<input id="${k}" name="${k}" type="number" min="0" max="1" step="0.01" value="${r[k] ?? ''}"></p>`,
)}
<p><label for="createError">Refuse at create with</label>
<select id="createError" name="createError">${option('', 'no error', r.createError ?? '')}${CREATE_ERRORS.map(([c, l]) => option(c, `${c}: ${l}`, r.createError))}</select></p>
<p><label for="finalStatus">End the status walk at</label>
<select id="finalStatus" name="finalStatus">${option('', 'as run-wide (normally delivered)', r.finalStatus ?? '')}${FINAL_STATUSES.map((s) => option(s, s, r.finalStatus))}</select></p>
<p><label for="errorCode">With the error code</label>
<select id="errorCode" name="errorCode">${option('', 'the sandbox default', r.errorCode ?? '')}${ERROR_CODES.map(([c, l]) => option(c, `${c}: ${l}`, r.errorCode))}</select></p>
${FLAGS.map(
  ([k, label]) =>
    html`<p class="check"><input id="${k}" name="${k}" type="checkbox"${r[k] ? html` checked` : ''}> <label for="${k}">${label}</label></p>`,
)}
<p class="buttons"><button type="submit">Set faults</button>
<button type="submit" formaction="${action}/clear" formnovalidate>Clear faults</button></p>
</form>`;
}
