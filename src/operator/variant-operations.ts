/**
 * The CLI's A/B test operations (`templates variants …`), on the same functions as the admin API
 * (authoring/variant-tests.ts), so a test started, promoted or stopped here is exactly one the API
 * would have. A refusal (no test, not confident, a variant that fails its checks) is printed as
 * `Error: …`; a forced promotion is audited as the CLI's.
 */
import { z } from 'zod';
import {
  setVariantWeights,
  startVariantTest,
  stopVariantTest,
  VARIANT_CHANNELS,
} from '../authoring/variant-tests.ts';
import { getNotificationType } from '../catalog/catalog.ts';
import { AppError } from '../errors.ts';
import { promoteOnFigures, variantReport } from '../stats/variant-figures.ts';
import { LOCALES, TEMPLATE_FIELDS } from '../templates/template-files.ts';
import { OperationRefused, type OperatorContext } from './context.ts';

const key = {
  type: z.string().refine((t) => getNotificationType(t) !== undefined, 'unknown notification type'),
  locale: z.enum(LOCALES),
  channel: z.enum(Object.keys(VARIANT_CHANNELS) as [keyof typeof VARIANT_CHANNELS]),
};

const variant = z.strictObject({
  label: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/),
  weight: z.number().int().min(0).max(10_000),
  fields: z.partialRecord(z.enum(TEMPLATE_FIELDS), z.string().min(1).max(5000)),
  dlt_template_id: z.string().max(32).nullable().optional(),
  dlt_text: z.string().max(2000).nullable().optional(),
});

/** An AppError of the check (not confident, no test, invalid variant) is the operator's refusal. */
async function refusing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AppError && err.status < 500)
      throw new OperationRefused(`${err.message} (${err.code})`);
    throw err;
  }
}

const confidence = (ctx: OperatorContext) => ctx.config.TEMPLATE_VARIANT_CONFIDENCE;

const entry = <S extends z.ZodType, R>(
  input: S,
  run: (ctx: OperatorContext, input: z.infer<S>) => Promise<R>,
) => ({
  input,
  run: (ctx: OperatorContext, i: z.infer<S>) => refusing(() => run(ctx, i)),
});

export const VARIANT_OPERATIONS = {
  'variants.show': entry(z.strictObject(key), async (ctx, k) =>
    variantReport(await ctx.db(), k, confidence(ctx)),
  ),
  'variants.start': entry(
    z.strictObject({
      ...key,
      metric: z.enum(['delivered', 'replies']),
      variants: z.array(variant).min(2).max(10),
    }),
    async (ctx, { metric, variants, ...k }) => {
      const started = await startVariantTest(await ctx.db(), await ctx.templates(), k, {
        metric,
        createdBy: 'cli:templates',
        variants: variants.map((v) => ({
          label: v.label,
          weight: v.weight,
          fields: v.fields,
          dltTemplateId: v.dlt_template_id,
          dltText: v.dlt_text,
        })),
      });
      return { ...started, inUse: await ctx.templatesChanged() };
    },
  ),
  'variants.weights': entry(
    z.strictObject({ ...key, weights: z.record(z.string(), z.number().int().min(0).max(10_000)) }),
    async (ctx, { weights, ...k }) => {
      await setVariantWeights(await ctx.db(), await ctx.templates(), k, weights);
      return variantReport(await ctx.db(), k, confidence(ctx));
    },
  ),
  'variants.promote': entry(
    z.strictObject({ ...key, label: z.string(), force: z.boolean() }),
    async (ctx, { label, force, ...k }) =>
      promoteOnFigures(await ctx.db(), await ctx.templates(), k, {
        label,
        force,
        requiredConfidence: confidence(ctx),
        actor: { apiKeyId: null, name: 'cli' },
        at: new Date(ctx.clock.now()),
      }),
  ),
  'variants.stop': entry(z.strictObject(key), async (ctx, k) => {
    await stopVariantTest(await ctx.db(), await ctx.templates(), k, new Date(ctx.clock.now()));
    return variantReport(await ctx.db(), k, confidence(ctx));
  }),
};
