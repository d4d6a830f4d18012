import { and, asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { analyzeSms } from '../../channels/sms/segments.ts';
import type { Db } from '../../db/database.ts';
import { notificationTemplates } from '../../db/schema.ts';
import { AppError } from '../../errors.ts';
import { requireNotificationType } from '../../notifications/catalog.ts';
import { lintSmsTemplate } from '../../templates/lint.ts';
import { checkTemplateSets, loadTemplatesIntoDb, TemplateLoadError } from '../../templates/load-templates.ts';
import { buildTemplateContext, renderTemplate } from '../../templates/render.ts';
import {
  LOCALES,
  TEMPLATE_FIELDS,
  type TemplateField,
  type TemplateSet,
} from '../../templates/template-files.ts';
import type { TemplateStore } from '../../templates/template-store.ts';
import { requireApiKey } from '../auth.ts';
import { jsonObject, text } from '../text.ts';

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
  deps: { db: Db; templates: TemplateStore },
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
      const set = currentSet(deps.templates, type, locale);
      set.fields[field] = request.body.source;
      if (field === 'sms') {
        if (request.body.dlt_template_id !== undefined)
          set.dltTemplateId = request.body.dlt_template_id ?? undefined;
        if (request.body.dlt_text !== undefined) set.dltText = request.body.dlt_text ?? undefined;
      }
      refuseDltMismatch(set);
      const summary = await loadTemplatesIntoDb(deps.db, [set], {
        createdBy: `api-key:${request.apiKey!.id}`,
      }).catch((err: unknown) => {
        throw err instanceof TemplateLoadError ? err.toAppError() : err;
      });
      await deps.templates.reload(deps.db);
      const saved = deps.templates.get(type, field, locale)!;
      return {
        type,
        locale,
        field,
        version: saved.version,
        changed: summary.created + summary.updated > 0,
        lint: summary.lint,
      };
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
    async (request) => {
      const b = request.body;
      const def = requireNotificationType(b.type);
      const context = buildTemplateContext(
        { firstName: null, lastName: null, email: null, locale: b.locale },
        b.context ?? def.sampleContext,
      );
      const set = currentSet(deps.templates, b.type, b.locale);
      if (b.field && b.source) set.fields[b.field] = b.source;
      const rendered: Partial<Record<TemplateField, string>> = {};
      const errors: Partial<Record<TemplateField, { code: string; detail: string }>> = {};
      for (const f of TEMPLATE_FIELDS) {
        try {
          rendered[f] = renderTemplate(set.fields[f], context, { escapeHtml: f === 'email_html' });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          errors[f] = { code: err.code, detail: err.message };
        }
      }
      const sms = rendered.sms ? analyzeSms(rendered.sms) : undefined;
      const lint = lintSmsTemplate(
        { source: set.fields.sms, sampleContext: context, ...(set.dltText ? { dltText: set.dltText } : {}) },
        renderTemplate,
      );
      return { type: b.type, locale: b.locale, rendered, errors, sms, lint };
    },
  );
}

/** The active source of every field of a type in a locale (each falling back to English). */
function currentSet(templates: TemplateStore, type: string, locale: string): TemplateSet {
  const fields = {} as Record<TemplateField, string>;
  for (const f of TEMPLATE_FIELDS) {
    const t = templates.get(type, f, locale);
    if (!t) throw new AppError('TEMPLATE_NOT_FOUND', `No ${f} template for ${type}`);
    fields[f] = t.source;
  }
  const sms = templates.get(type, 'sms', locale)!;
  return { type, locale, fields, dltTemplateId: sms.dltTemplateId, dltText: sms.dltText };
}

/**
 * An SMS text that no longer matches its registered DLT template would fail every send (carriers
 * reject it), so such an edit is refused until the DLT fields are updated with it.
 */
function refuseDltMismatch(set: TemplateSet): void {
  let rows: ReturnType<typeof checkTemplateSets>;
  try {
    rows = checkTemplateSets([set]);
  } catch (err) {
    throw err instanceof TemplateLoadError ? err.toAppError() : err;
  }
  const mismatch = rows.flatMap((r) => r.report.warnings).find((w) => w.code === 'DLT_MISMATCH');
  if (mismatch) {
    throw new AppError(
      'SMS_DLT_MISMATCH',
      `${mismatch.message}. Send dlt_text (and dlt_template_id) registered for the new text, or keep the text.`,
    );
  }
}
