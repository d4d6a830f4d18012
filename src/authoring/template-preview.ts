/**
 * A type's templates rendered with its sample context (or one given), optionally with an unsaved
 * source for one field: what the API's preview returns and the console's editor shows as you type.
 * Every count comes from the same code the SMS channel bills with, so the editor cannot disagree.
 */

import { requireNotificationType } from '../catalog/catalog.ts';
import { estimateCostInCountry, type PriceTable, type SmsCostEstimate } from '../channels/sms/cost.ts';
import { dltMismatchReason } from '../channels/sms/dlt.ts';
import { analyzeSms, type SmsAnalysis } from '../channels/sms/segments.ts';
import { buildTemplateContext, templateVariables } from '../templates/render.ts';
import { isMessageFault, renderSmsPreview } from '../templates/render-pool.ts';
import { TEMPLATE_FIELDS, type TemplateField } from '../templates/template-files.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { type LintReport, lintSmsTemplate } from './lint.ts';
import { renderField } from './load-templates.ts';
import { checkTemplateSet, currentSet, withEdit } from './template-edit.ts';

/** Customers are in India: an estimate without a recipient prices a message there. */
export const PREVIEW_COST_COUNTRY = 'IN';

export interface PreviewInput {
  type: string;
  locale: string;
  field?: TemplateField | undefined;
  source?: string | undefined;
  /** With an unsaved SMS source: the DLT fields it would be saved with (undefined keeps the saved ones). */
  dltTemplateId?: string | null | undefined;
  dltText?: string | null | undefined;
  context?: Record<string, unknown> | undefined;
}

export interface TemplatePreview {
  type: string;
  locale: string;
  rendered: Partial<Record<TemplateField, string>>;
  errors: Partial<Record<TemplateField, { code: string; detail: string }>>;
  sms: SmsAnalysis | undefined;
  lint: LintReport;
  /** Segments × the per-segment price in PREVIEW_COST_COUNTRY. */
  sms_cost: SmsCostEstimate | undefined;
  /** Only when the SMS text has a registered DLT template. */
  dlt: { registered_text: string; matches: boolean; reason: string | null } | undefined;
  /** Of the field previewed (or sms): paths the context lacks, and the type's paths it does not use. */
  variables: { field: TemplateField; missing: string[]; unused: string[] };
  /** What a save of this text would refuse (errors) or warn about. */
  check: {
    errors: Array<{ field: string | null; code: string; message: string }>;
    warnings: LintReport['warnings'];
  };
}

export async function previewTemplate(
  templates: TemplateStore,
  input: PreviewInput,
  prices?: PriceTable,
): Promise<TemplatePreview> {
  const def = requireNotificationType(input.type);
  const context = buildTemplateContext(
    { firstName: null, lastName: null, email: null, locale: input.locale },
    input.context ?? def.sampleContext,
  );
  let set = currentSet(templates, input.type, input.locale);
  if (input.field && input.source)
    set = withEdit(set, { ...input, field: input.field, source: input.source });
  const rendered: TemplatePreview['rendered'] = {};
  const errors: TemplatePreview['errors'] = {};
  // The fields render side by side on the render threads; a refusal (queue full) fails the preview.
  const outcomes = await Promise.allSettled(
    TEMPLATE_FIELDS.map((f) => renderField(f, set.fields[f], context)),
  );
  TEMPLATE_FIELDS.forEach((f, i) => {
    const outcome = outcomes[i]!;
    if (outcome.status === 'fulfilled') rendered[f] = outcome.value;
    else if (isMessageFault(outcome.reason))
      errors[f] = { code: outcome.reason.code, detail: outcome.reason.message };
    else throw outcome.reason;
  });
  const sms = rendered.sms ? analyzeSms(rendered.sms) : undefined;
  const lint = await lintSmsTemplate(
    { source: set.fields.sms, sampleContext: context, ...(set.dltText ? { dltText: set.dltText } : {}) },
    renderSmsPreview,
  );
  const check = await checkTemplateSet(set);
  const field = input.field ?? 'sms';
  return {
    type: input.type,
    locale: input.locale,
    rendered,
    errors,
    sms,
    lint,
    sms_cost: sms ? estimateCostInCountry(PREVIEW_COST_COUNTRY, sms.segments, prices) : undefined,
    dlt:
      set.dltText === undefined
        ? undefined
        : {
            registered_text: set.dltText,
            matches: rendered.sms !== undefined && dltMismatchReason(rendered.sms, set.dltText) === null,
            reason:
              rendered.sms === undefined
                ? 'the SMS does not render'
                : dltMismatchReason(rendered.sms, set.dltText),
          },
    variables: { field, ...variableReport(set.fields[field], context, def.variables) },
    check: {
      errors: check.errors.map((e) => ({
        field: e.field ?? null,
        code: e.error.code,
        message: e.error.message,
      })),
      warnings: check.warnings,
    },
  };
}

function variableReport(
  source: string,
  context: Record<string, unknown>,
  declared: readonly string[],
): { missing: string[]; unused: string[] } {
  let used: string[];
  try {
    used = templateVariables(source);
  } catch {
    // A source that does not parse has its error in `errors`; there are no variables to name.
    return { missing: [], unused: [] };
  }
  const usedSet = new Set(used.map((p) => p.replace(/\[[^\]]*\]/g, '')));
  return {
    missing: [...usedSet].filter((path) => !hasPath(context, path)),
    unused: declared.filter((path) => !usedSet.has(path)),
  };
}

/** Own properties only, as the renderer reads them (ownPropertyOnly). */
function hasPath(context: Record<string, unknown>, path: string): boolean {
  let at: unknown = context;
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, part)) return false;
    at = (at as Record<string, unknown>)[part];
  }
  return true;
}
