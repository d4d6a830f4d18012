import { AppError } from '../../errors.ts';
import { buildTemplateContext } from '../../templates/render.ts';
import { renderTemplate } from '../../templates/render-pool.ts';
import type { TemplateStore, VariantRef } from '../../templates/template-store.ts';
import { estimateSmsCost, type PriceTable, type SmsCostEstimate } from './cost.ts';
import { dltMismatchReason } from './dlt.ts';
import { analyzeSms, type SmsEncoding } from './segments.ts';

export interface ComposedSms {
  body: string;
  encoding: SmsEncoding;
  /** As the network counts them: GSM-7 septets or UCS-2 code units. */
  characters: number;
  segments: number;
  cost: SmsCostEstimate;
  dltTemplateId: string | undefined;
  /** The A/B variant the text is (docs/templates.md#ab-variants), when a test runs on it. */
  variant: VariantRef | undefined;
}

export interface ComposeInput {
  type: string;
  to: string;
  user: {
    firstName: string | null;
    lastName: string | null;
    email: string | null;
    locale: string;
    /** Their external id: what a running A/B test assigns a variant by. */
    externalId: string;
  };
  context: Record<string, unknown>;
}

/**
 * Where an SMS is rendered: the user's template (locale, then English), the encoding and segment
 * count as the network sees them, the estimated cost, and the India DLT check — a text that no
 * longer matches its registered template would be rejected by the carrier, so it fails here first.
 */
export async function composeSms(
  templates: TemplateStore,
  prices: PriceTable,
  input: ComposeInput,
): Promise<ComposedSms> {
  const template = templates.choose(input.type, 'sms', input.user.locale, input.user.externalId);
  if (!template) throw new AppError('TEMPLATE_NOT_FOUND', `No SMS template for ${input.type}`);
  const body = await renderTemplate(template.source, buildTemplateContext(input.user, input.context));
  if (template.dltText) {
    const reason = dltMismatchReason(body, template.dltText);
    if (reason) {
      throw new AppError(
        'SMS_DLT_MISMATCH',
        `SMS for ${input.type} does not match DLT template ${template.dltTemplateId}: ${reason}`,
      );
    }
  }
  const analysis = analyzeSms(body);
  return {
    body,
    encoding: analysis.encoding,
    characters: analysis.characters,
    segments: analysis.segments,
    cost: estimateSmsCost(input.to, analysis.segments, prices),
    dltTemplateId: template.dltTemplateId,
    variant: template.variant,
  };
}
