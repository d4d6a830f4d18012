/**
 * A/B tests of a template (docs/templates.md#ab-variants), as the admin API and the CLI run them:
 * start one with its variants (each checked exactly as a saved template is), change its weights,
 * stop it, or promote one variant to the only active version. Promotion needs the figures to show
 * the variant better at the configured confidence; `force` overrides that and is recorded in the
 * audit log with the figures it overrode.
 */
import { and, eq, type SQL } from 'drizzle-orm';
import type { Db, Queryable } from '../db/database.ts';
import { consoleAudit, templateVariantGroups, templateVariants } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import type { TemplateField, TemplateSet } from '../templates/template-files.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import type { Verdict } from '../templates/variant-confidence.ts';
import type { LintRow } from './lint.ts';
import { loadTemplatesIntoDb } from './load-templates.ts';
import { checkTemplateSet, currentSet } from './template-edit.ts';

/**
 * The channels a test can run on, with the fields a variant holds. SMS only for now: its text is
 * rendered at send time by the worker, where the variant is chosen and recorded on the delivery.
 */
export const VARIANT_CHANNELS = { sms: ['sms'] } as const satisfies Record<string, readonly TemplateField[]>;
export type VariantChannel = keyof typeof VARIANT_CHANNELS;

/** The template a test runs on. */
export interface TestKey {
  type: string;
  channel: string;
  locale: string;
}

export type VariantMetric = 'delivered' | 'replies';

/** The tests of one template (any status). */
export function onTemplate(k: TestKey): SQL[] {
  return [
    eq(templateVariantGroups.type, k.type),
    eq(templateVariantGroups.channel, k.channel),
    eq(templateVariantGroups.locale, k.locale),
  ];
}

/** What a promotion is judged on: the test's report (stats/variant-figures.ts), read just before. */
export interface PromotionFigures {
  group_id: number;
  status: string;
  variants: ReadonlyArray<VariantText & { verdict: Verdict | undefined }>;
}

/** A variant as stored: what promotion makes the active text. */
export interface VariantText {
  id: number;
  label: string;
  weight: number;
  fields: Record<string, string>;
  dlt_template_id: string | null;
  dlt_text: string | null;
}

export interface VariantInput {
  label: string;
  weight: number;
  /** The channel's fields; one left out keeps the active template's text. */
  fields: Partial<Record<TemplateField, string>>;
  dltTemplateId?: string | null | undefined;
  dltText?: string | null | undefined;
}

/** Who did it, as the audit log names them. */
export interface Actor {
  apiKeyId: number | null;
  name: string;
}

/** The template set a variant would send: the active set with the variant's fields. */
function variantSet(templates: TemplateStore, k: TestKey, v: VariantInput): TemplateSet {
  const set = currentSet(templates, k.type, k.locale);
  const next: TemplateSet = { ...set, fields: { ...set.fields, ...v.fields } };
  if (v.dltTemplateId !== undefined) next.dltTemplateId = v.dltTemplateId ?? undefined;
  if (v.dltText !== undefined) next.dltText = v.dltText ?? undefined;
  return next;
}

function refuse(message: string, details?: Record<string, unknown>): never {
  throw new AppError('VARIANTS_INVALID', message, details);
}

function checkShape(k: TestKey, variants: readonly VariantInput[]): void {
  if (!(k.channel in VARIANT_CHANNELS)) {
    refuse(`A/B tests run on ${Object.keys(VARIANT_CHANNELS).join(', ')} templates, not ${k.channel}`);
  }
  const allowed: readonly string[] = VARIANT_CHANNELS[k.channel as VariantChannel];
  if (variants.length < 2) refuse('An A/B test needs at least two variants');
  const labels = new Set(variants.map((v) => v.label));
  if (labels.size !== variants.length) refuse('Variant labels must be distinct');
  if (variants.every((v) => v.weight === 0)) refuse('At least one variant needs a weight above 0');
  for (const v of variants) {
    const foreign = Object.keys(v.fields).filter((f) => !allowed.includes(f));
    if (foreign.length > 0) {
      refuse(`Variant ${v.label}: ${foreign.join(', ')} is not a field of the ${k.channel} channel`, {
        variant: v.label,
      });
    }
  }
}

/**
 * Starts a test: every variant's text is checked as a saved template is (Liquid, render limits,
 * the DLT rule) and its SMS lint returned (encoding, segments). VARIANT_TEST_RUNNING when one
 * already runs on that template.
 */
export async function startVariantTest(
  db: Db,
  templates: TemplateStore,
  k: TestKey,
  input: { variants: readonly VariantInput[]; metric: VariantMetric; createdBy: string },
): Promise<{ groupId: number; lint: Array<{ label: string; lint: LintRow[] }> }> {
  checkShape(k, input.variants);
  const field = VARIANT_CHANNELS[k.channel as VariantChannel][0];
  const active = templates.get(k.type, field, k.locale);
  if (!active) throw new AppError('TEMPLATE_NOT_FOUND', `No ${field} template for ${k.type}`);
  if (active.locale !== k.locale) {
    // Its users are sent the English template, where a test of its own would never be chosen.
    refuse(
      `${k.type} has no ${field} template in ${k.locale} (its users get ${active.locale}): test that one`,
    );
  }
  const lint: Array<{ label: string; lint: LintRow[] }> = [];
  const sets = new Map<string, TemplateSet>();
  for (const v of input.variants) {
    const set = variantSet(templates, k, v);
    const check = await checkTemplateSet(set);
    const first = check.errors[0];
    if (first) {
      throw new AppError(first.error.code, `Variant ${v.label}: ${first.error.message}`, {
        ...first.error.details,
        variant: v.label,
      });
    }
    sets.set(v.label, set);
    lint.push({ label: v.label, lint: check.lint });
  }
  const groupId = await db.transaction(async (tx) => {
    const [group] = await tx
      .insert(templateVariantGroups)
      .values({ ...k, metric: input.metric, createdBy: input.createdBy })
      .onConflictDoNothing()
      .returning({ id: templateVariantGroups.id });
    if (!group) {
      throw new AppError(
        'VARIANT_TEST_RUNNING',
        `An A/B test already runs on the ${k.channel} template of ${k.type} (${k.locale}): promote or stop it first`,
      );
    }
    const fieldsOf = VARIANT_CHANNELS[k.channel as VariantChannel];
    await tx.insert(templateVariants).values(
      input.variants.map((v) => {
        const set = sets.get(v.label)!;
        return {
          groupId: group.id,
          label: v.label,
          weight: v.weight,
          fields: Object.fromEntries(fieldsOf.map((f) => [f, set.fields[f]])),
          dltTemplateId: set.dltTemplateId ?? null,
          dltText: set.dltText ?? null,
        };
      }),
    );
    return group.id;
  });
  await templates.reload(db);
  return { groupId, lint };
}

async function runningGroup(q: Queryable, k: TestKey) {
  const [group] = await q
    .select()
    .from(templateVariantGroups)
    .where(and(...onTemplate(k), eq(templateVariantGroups.status, 'running')))
    .for('update');
  if (!group) {
    throw new AppError(
      'VARIANT_TEST_NOT_FOUND',
      `No A/B test runs on the ${k.channel} template of ${k.type} (${k.locale})`,
    );
  }
  return group;
}

/**
 * New weights for a running test (labels not named keep theirs). Users are re-split by the new
 * weights: the same user may then get another variant, as docs/templates.md says.
 */
export async function setVariantWeights(
  db: Db,
  templates: TemplateStore,
  k: TestKey,
  weights: Record<string, number>,
): Promise<void> {
  await db.transaction(async (tx) => {
    const group = await runningGroup(tx, k);
    const variants = await tx.select().from(templateVariants).where(eq(templateVariants.groupId, group.id));
    const unknown = Object.keys(weights).filter((label) => !variants.some((v) => v.label === label));
    if (unknown.length > 0) refuse(`No variant ${unknown.join(', ')} in this test`);
    if (variants.every((v) => (weights[v.label] ?? v.weight) === 0)) {
      refuse('At least one variant needs a weight above 0');
    }
    for (const v of variants) {
      const weight = weights[v.label];
      if (weight === undefined || weight === v.weight) continue;
      await tx.update(templateVariants).set({ weight }).where(eq(templateVariants.id, v.id));
    }
  });
  await templates.reload(db);
}

/** Ends a running test without promoting: every user gets the active template again. */
export async function stopVariantTest(db: Db, templates: TemplateStore, k: TestKey, at: Date): Promise<void> {
  await db.transaction(async (tx) => {
    const group = await runningGroup(tx, k);
    await tx
      .update(templateVariantGroups)
      .set({ status: 'stopped', endedAt: at })
      .where(eq(templateVariantGroups.id, group.id));
  });
  await templates.reload(db);
}

/**
 * Promotes one variant: its text becomes a new active version of the template (the old one is
 * kept, retired, as every save does) and the test ends. Refused with VARIANT_NOT_CONFIDENT (the
 * figures and the verdict in the error) unless the variant leads at `requiredConfidence`; `force`
 * promotes anyway and the audit entry says it was forced, with the figures.
 */
export async function promoteVariant(
  db: Db,
  templates: TemplateStore,
  k: TestKey,
  report: PromotionFigures,
  input: { label: string; force: boolean; requiredConfidence: number; actor: Actor; at: Date },
): Promise<{ version: number | null; forced: boolean }> {
  const chosen = report.variants.find((v) => v.label === input.label);
  if (report.status !== 'running') {
    throw new AppError(
      'VARIANT_TEST_NOT_FOUND',
      `No A/B test runs on the ${k.channel} template of ${k.type}`,
    );
  }
  if (!chosen) refuse(`No variant ${input.label} in this test`);
  const verdict = chosen.verdict;
  const confident = verdict?.leads === true && verdict.confidence >= input.requiredConfidence;
  if (!confident && !input.force) {
    throw new AppError(
      'VARIANT_NOT_CONFIDENT',
      `Variant ${chosen.label} is not shown better than variant ${chosen.verdict?.rival} at ${input.requiredConfidence} confidence (${chosen.verdict?.confidence.toFixed(4)}): wait for more sends, or promote with force`,
      { required_confidence: input.requiredConfidence, verdict: chosen.verdict, variants: report.variants },
    );
  }
  const field = VARIANT_CHANNELS[k.channel as VariantChannel][0];
  const set = variantSet(templates, k, {
    label: chosen.label,
    weight: chosen.weight,
    fields: chosen.fields,
    dltTemplateId: chosen.dlt_template_id,
    dltText: chosen.dlt_text,
  });
  await loadTemplatesIntoDb(db, [set], {
    createdBy: input.actor.name,
    inTransaction: async (tx) => {
      const group = await runningGroup(tx, k);
      if (group.id !== report.group_id) {
        // Another test was started since the figures were read: they are not this test's.
        throw new AppError('VARIANT_TEST_NOT_FOUND', `The A/B test ${report.group_id} has ended`);
      }
      await tx
        .update(templateVariantGroups)
        .set({ status: 'promoted', promotedVariantId: chosen.id, endedAt: input.at })
        .where(eq(templateVariantGroups.id, group.id));
      // The console's audit log (console/audit-log.ts reads it): an API or CLI promotion is an admin change too.
      await tx.insert(consoleAudit).values({
        at: input.at,
        apiKeyId: input.actor.apiKeyId,
        actor: input.actor.name,
        action: input.force && !confident ? 'template.variant_force_promoted' : 'template.variant_promoted',
        targetType: 'template',
        targetId: `${k.type}/${k.locale}/${field}`,
        before: {
          group_id: group.id,
          variants: report.variants.map(({ fields: _f, ...figures }) => figures),
        },
        after: { variant: chosen.label, forced: !confident, verdict: chosen.verdict ?? null },
      });
    },
  });
  await templates.reload(db);
  return { version: templates.get(k.type, field, k.locale)?.version ?? null, forced: !confident };
}
