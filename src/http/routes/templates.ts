import { and, asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { saveTemplateEdit } from '../../authoring/template-edit.ts';
import { previewTemplate } from '../../authoring/template-preview.ts';
import { requireNotificationType } from '../../catalog/catalog.ts';
import type { PriceTable } from '../../channels/sms/cost.ts';
import type { Db } from '../../db/database.ts';
import { notificationTemplates } from '../../db/schema.ts';
import { AppError } from '../../errors.ts';
import { LOCALES, TEMPLATE_FIELDS } from '../../templates/template-files.ts';
import type { TemplateStore } from '../../templates/template-store.ts';
import { jsonObject, text } from '../../text.ts';
import { requireApiKey } from '../auth.ts';

const templateParams = z.object({
  type: text().min(1).max(64),
  locale: z.enum(LOCALES),
  field: z.enum(TEMPLATE_FIELDS),
});

const editBody = z
  .object({
    source: text().min(1).max(5000),
    dlt_template_id: text().max(32).nullable().optional(),
    dlt_text: text().max(2000).nullable().optional(),
  })
  .strict();

const previewBody = z
  .object({
    type: text().min(1).max(64),
    locale: z.enum(LOCALES).default('en'),
    /** Try an unsaved source for one field (the editor's live preview). */
    field: z.enum(TEMPLATE_FIELDS).optional(),
    source: text().min(1).max(5000).optional(),
    context: jsonObject().optional(),
  })
  .strict();

/**
 * Operators edit templates over the API: every save is a new version (all kept, one active), checked
 * and linted before it is stored; preview renders with the type's sample context or one given.
 */
export function registerTemplateRoutes(
  app: FastifyInstance,
  deps: { db: Db; templates: TemplateStore; prices?: PriceTable },
): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = requireApiKey(deps.db, ['admin']);

  r.get(
    '/api/v1/templates/:type/:locale/:field',
    {
      schema: { tags: ['templates'], summary: 'A template with every saved version', params: templateParams },
      onRequest: admin,
    },
    async (request) => {
      const { type, locale, field } = request.params;
      requireNotificationType(type);
      const active = deps.templates.get(type, field, locale);
      if (!active) throw new AppError('TEMPLATE_NOT_FOUND', `No ${field} template for ${type}`);
      const versions = await deps.db
        .select()
        .from(notificationTemplates)
        .where(
          and(
            eq(notificationTemplates.type, type),
            eq(notificationTemplates.locale, locale),
            eq(notificationTemplates.field, field),
          ),
        )
        .orderBy(asc(notificationTemplates.version));
      return {
        type,
        locale,
        field,
        active: { source: active.source, locale: active.locale, version: active.version },
        versions: versions.map((v) => ({
          version: v.version,
          active: v.active,
          source: v.source,
          dlt_template_id: v.dltTemplateId,
          created_by: v.createdBy,
          created_at: v.createdAt.toISOString(),
        })),
      };
    },
  );

  r.put(
    '/api/v1/templates/:type/:locale/:field',
    {
      schema: {
        tags: ['templates'],
        summary: 'Save a new version of a template (validated and linted; becomes the active one)',
        params: templateParams,
        body: editBody,
      },
      onRequest: admin,
    },
    async (request) => {
      const { type, locale, field } = request.params;
      requireNotificationType(type);
      const saved = await saveTemplateEdit(
        deps.db,
        deps.templates,
        {
          type,
          locale,
          field,
          source: request.body.source,
          dltTemplateId: request.body.dlt_template_id,
          dltText: request.body.dlt_text,
        },
        { createdBy: `api-key:${request.apiKey!.id}` },
      );
      return { type, locale, field, version: saved.version, changed: saved.changed, lint: saved.lint };
    },
  );

  r.post(
    '/api/v1/templates/preview',
    {
      schema: {
        tags: ['templates'],
        summary: 'Render a type in a locale, optionally with an unsaved source',
        body: previewBody,
      },
      onRequest: admin,
    },
    async (request) => previewTemplate(deps.templates, request.body, deps.prices),
  );
}
