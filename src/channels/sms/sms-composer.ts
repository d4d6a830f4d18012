import { AppError } from '../../errors.ts';
import { linkRequest } from '../../links/link-settings.ts';
import { LinkSession, type TrackedLink } from '../../links/tracked-link.ts';
import { buildTemplateContext } from '../../templates/render.ts';
import { renderWithLinks } from '../../templates/render-pool.ts';
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
  /** The tracked links in the body: a send stores them before it sends (links/link-store.ts). */
  links: TrackedLink[];
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
  /** The delivery's stored tracked links (target → id), so a retry renders the same text. */
  reuse?: Record<string, string> | undefined;
  /** MMS media this number cannot receive: sent as tracked links after the text (docs/mms.md). */
  mediaAsLinks?: readonly string[] | undefined;
}

/**
 * The text with its media as tracked links (`Photos: <link> <link>`), made like the filter's: an
 * id already stored or rendered for the same target is given back, so a retry sends the same text.
 */
function withMediaLinks(output: string, rendered: TrackedLink[], input: ComposeInput) {
  const media = input.mediaAsLinks ?? [];
  if (media.length === 0) return { body: output, links: rendered };
  const known = { ...input.reuse, ...Object.fromEntries(rendered.map((l) => [l.target, l.id])) };
  const session = new LinkSession(linkRequest(known));
  const shown = media.map((url) => session.link(url));
  const made = session.made.filter((l) => !rendered.some((r) => r.target === l.target));
  return { body: `${output}\nPhotos: ${shown.join(' ')}`, links: [...rendered, ...made] };
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
  const rendered = await renderWithLinks(
    template.source,
    buildTemplateContext(input.user, input.context),
    linkRequest(input.reuse),
  );
  const { body, links } = withMediaLinks(rendered.output, rendered.links, input);
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
    links,
  };
}
