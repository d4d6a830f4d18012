import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  setVariantWeights,
  startVariantTest,
  stopVariantTest,
  type TestKey,
  VARIANT_CHANNELS,
} from '../../authoring/variant-tests.ts';
import { requireNotificationType } from '../../catalog/catalog.ts';
import type { Clock } from '../../clock.ts';
import type { Db } from '../../db/database.ts';
import { promoteOnFigures, variantReport } from '../../stats/variant-figures.ts';
import { LOCALES, TEMPLATE_FIELDS } from '../../templates/template-files.ts';
import type { TemplateStore } from '../../templates/template-store.ts';
import { text } from '../../text.ts';
import { requireApiKey } from '../auth.ts';

const testParams = z.object({
  type: text().min(1).max(64),
  locale: z.enum(LOCALES),
  channel: z.enum(Object.keys(VARIANT_CHANNELS) as [keyof typeof VARIANT_CHANNELS]),
});

const label = text().regex(/^[A-Za-z0-9_-]{1,16}$/, 'must be 1-16 letters, digits, _ or -');
const weight = z.number().int().min(0).max(10_000);

const startBody = z
  .object({
    metric: z.enum(['delivered', 'replies']).default('delivered'),
    variants: z
      .array(
        z
          .object({
            label,
            weight,
            /** The channel's fields (`{"sms": "…"}`); a field left out keeps the active text. */
            fields: z.partialRecord(z.enum(TEMPLATE_FIELDS), text().min(1).max(5000)),
            dlt_template_id: text().max(32).nullable().optional(),
            dlt_text: text().max(2000).nullable().optional(),
          })
          .strict(),
      )
      .min(2)
      .max(10),
  })
  .strict();

const weightsBody = z.object({ weights: z.record(label, weight) }).strict();
const promoteBody = z.object({ variant: label, force: z.boolean().default(false) }).strict();

/**
 * A/B tests of a template over the admin API (docs/templates.md#ab-variants): start, read the
 * per-variant figures with their confidence, change weights, stop, promote.
 */
export function registerTemplateVariantRoutes(
  app: FastifyInstance,
  deps: { db: Db; templates: TemplateStore; clock: Clock; requiredConfidence: number },
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = requireApiKey(deps.db, ['admin']);
  const path = '/api/v1/templates/:type/:locale/:channel/variants';
  const keyOf = (p: z.infer<typeof testParams>): TestKey => {
    requireNotificationType(p.type);
    return p;
  };

  r.get(
    path,
    {
      schema: {
        tags: ['templates'],
        summary:
          'The A/B test on a template (the running one, else the latest): per-variant figures and confidence',
        params: testParams,
      },
      onRequest: admin,
    },
    async (request) => variantReport(deps.db, keyOf(request.params), deps.requiredConfidence),
  );

  r.post(
    path,
    {
      schema: {
        tags: ['templates'],
        summary: 'Start an A/B test: variants with weights, each checked as a saved template is',
        params: testParams,
        body: startBody,
      },
      onRequest: admin,
    },
    async (request, reply) => {
      const k = keyOf(request.params);
      const started = await startVariantTest(deps.db, deps.templates, k, {
        metric: request.body.metric,
        createdBy: `api-key:${request.apiKey!.id}`,
        variants: request.body.variants.map((v) => ({
          label: v.label,
          weight: v.weight,
          fields: v.fields,
          dltTemplateId: v.dlt_template_id,
          dltText: v.dlt_text,
        })),
      });
      reply.code(201);
      return { group_id: started.groupId, lint: started.lint };
    },
  );

  r.patch(
    path,
    {
      schema: {
        tags: ['templates'],
        summary: "Change a running A/B test's weights (users are split again by the new weights)",
        params: testParams,
        body: weightsBody,
      },
      onRequest: admin,
    },
    async (request) => {
      const k = keyOf(request.params);
      await setVariantWeights(deps.db, deps.templates, k, request.body.weights);
      return variantReport(deps.db, k, deps.requiredConfidence);
    },
  );

  r.delete(
    path,
    {
      schema: {
        tags: ['templates'],
        summary: 'Stop a running A/B test without promoting: every user gets the active template again',
        params: testParams,
      },
      onRequest: admin,
    },
    async (request) => {
      const k = keyOf(request.params);
      await stopVariantTest(deps.db, deps.templates, k, new Date(deps.clock.now()));
      return variantReport(deps.db, k, deps.requiredConfidence);
    },
  );

  r.post(
    `${path}/promote`,
    {
      schema: {
        tags: ['templates'],
        summary:
          'Promote a variant to the only active version; 409 VARIANT_NOT_CONFIDENT with the figures below the configured confidence, unless force (audited)',
        params: testParams,
        body: promoteBody,
      },
      onRequest: admin,
    },
    async (request) => {
      const k = keyOf(request.params);
      const key = request.apiKey!;
      const promoted = await promoteOnFigures(deps.db, deps.templates, k, {
        label: request.body.variant,
        force: request.body.force,
        requiredConfidence: deps.requiredConfidence,
        actor: { apiKeyId: key.id, name: key.name },
        at: new Date(deps.clock.now()),
      });
      return { version: promoted.version, forced: promoted.forced, test: promoted.report };
    },
  );
}
