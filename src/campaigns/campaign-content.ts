/**
 * A campaign's content as templates: the same Liquid, parse check, render limits and SMS lint as a
 * notification type's, kept in notification_templates under the campaign's own type
 * (`campaign:<id>`, channels/channel.ts) so the SMS and email channels render and price it exactly
 * as any template. A promotional SMS always carries the opt-out text: appended when the client's
 * text lacks it, before the segments are counted.
 */

import { type LintWarning, lintSmsTemplate } from '../authoring/lint.ts';
import { campaignTemplateType } from '../channels/channel.ts';
import { AppError } from '../errors.ts';
import { buildTemplateContext, validateTemplateSource } from '../templates/render.ts';
import { renderTemplate } from '../templates/render-pool.ts';
import type { TemplateField } from '../templates/template-files.ts';
import type { CampaignSpec } from './campaign-spec.ts';

export const OPT_OUT_TEXT = 'Reply STOP to opt out';
const HAS_OPT_OUT = /reply\s+stop/i;

/** The SMS text as sent: the client's, with the opt-out text appended unless it says it already. */
export function withOptOut(body: string): string {
  return HAS_OPT_OUT.test(body) ? body : `${body.trimEnd()} ${OPT_OUT_TEXT}`;
}

/** The context every campaign template renders with: the campaign's own, plus who sends it. */
export function campaignContext(spec: CampaignSpec): Record<string, unknown> {
  return { ...spec.context, campaign: { id: spec.id, name: spec.name } };
}

export interface CampaignTemplateRow {
  type: string;
  field: TemplateField;
  locale: string;
  source: string;
  dltTemplateId: string | null;
  dltText: string | null;
}

/** The template rows of a campaign's content (one per channel field × locale). */
export function campaignTemplateRows(spec: CampaignSpec): CampaignTemplateRow[] {
  const type = campaignTemplateType(spec.id);
  const rows: CampaignTemplateRow[] = [];
  for (const [locale, sms] of Object.entries(spec.content.sms ?? {})) {
    rows.push({
      type,
      field: 'sms',
      locale,
      source: withOptOut(sms.body),
      dltTemplateId: sms.dlt_template_id ?? null,
      dltText: sms.dlt_text ?? null,
    });
  }
  for (const [locale, email] of Object.entries(spec.content.email ?? {})) {
    for (const [field, source] of [
      ['email_subject', email.subject],
      ['email_text', email.text],
      ['email_html', email.html],
    ] as const) {
      rows.push({ type, field, locale, source, dltTemplateId: null, dltText: null });
    }
  }
  return rows;
}

/**
 * Every template parses (else TEMPLATE_INVALID naming the field), and each SMS text is linted with
 * the campaign's context and a sample name: a text that no longer matches its DLT registration is
 * refused (carriers would reject every send), the other lint findings are warnings.
 */
export async function checkCampaignContent(spec: CampaignSpec): Promise<LintWarning[]> {
  const warnings: LintWarning[] = [];
  const sample = buildTemplateContext(
    { firstName: 'Priya', lastName: 'Sharma', email: 'priya@example.com', locale: 'en' },
    campaignContext(spec),
  );
  for (const row of campaignTemplateRows(spec)) {
    const field = `content.${row.field === 'sms' ? 'sms' : 'email'}.${row.locale}`;
    try {
      validateTemplateSource(row.source);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      throw new AppError(err.code, `${field}: ${err.message}`, { errors: [{ field, message: err.message }] });
    }
    if (row.field !== 'sms') continue;
    const report = await lintSmsTemplate(
      { source: row.source, sampleContext: sample, ...(row.dltText && { dltText: row.dltText }) },
      (source, context) => renderTemplate(source, context),
    );
    for (const w of report.warnings) {
      if (w.code === 'DLT_MISMATCH') throw new AppError('SMS_DLT_MISMATCH', `${field}: ${w.message}`);
      warnings.push({ code: w.code, message: `${field}: ${w.message}` });
    }
  }
  return warnings;
}
