/**
 * What the console's template pages read: every editable field with its active version and lint
 * status, and one field's saved versions. The lint is the save's own check (template-edit.ts) and the
 * preview's render with the sample context, so the list says what a save or a send would say.
 */
import { and, desc, eq } from 'drizzle-orm';
import { previewTemplate } from '../authoring/template-preview.ts';
import { type ChannelName, NOTIFICATION_TYPES } from '../catalog/catalog.ts';
import type { Queryable } from '../db/database.ts';
import { notificationTemplates } from '../db/schema.ts';
import { fieldChannel, LOCALES, TEMPLATE_FIELDS, type TemplateField } from '../templates/template-files.ts';
import type { TemplateStore } from '../templates/template-store.ts';

// Where a field is sent: beside the fields themselves, so the template store can use it too.
export { fieldChannel };

export interface TemplateRow {
  type: string;
  channel: ChannelName;
  locale: string;
  field: TemplateField;
  /** null: the file shipped in templates/, never saved in the database. */
  version: number | null;
  /** The locale the text is in: English when the locale has no translation of it. */
  sourceLocale: string;
  errors: string[];
  warnings: string[];
}

/** Every field of every type's channels in every locale, in catalog order. */
export async function templateRows(templates: TemplateStore): Promise<TemplateRow[]> {
  const rows: TemplateRow[] = [];
  for (const def of NOTIFICATION_TYPES) {
    for (const locale of LOCALES) {
      const preview = await previewTemplate(templates, { type: def.name, locale });
      for (const field of TEMPLATE_FIELDS) {
        const channel = fieldChannel(field);
        if (!def.channels.includes(channel)) continue;
        const active = templates.get(def.name, field, locale)!;
        const renderError = preview.errors[field];
        rows.push({
          type: def.name,
          channel,
          locale,
          field,
          version: active.version,
          sourceLocale: active.locale,
          errors: preview.check.errors
            .filter((e) => e.field === null || e.field === field)
            .map((e) => e.message),
          warnings:
            field === 'sms'
              ? preview.check.warnings.map((w) => w.message)
              : renderError
                ? [`Rendering with the sample context failed: ${renderError.detail}`]
                : [],
        });
      }
    }
  }
  return rows;
}

export interface TemplateVersion {
  version: number;
  active: boolean;
  source: string;
  dltTemplateId: string | null;
  dltText: string | null;
  createdBy: string | null;
  createdAt: Date;
}

/** One field's saved versions, newest first. */
export async function templateVersions(
  q: Queryable,
  key: { type: string; locale: string; field: TemplateField },
): Promise<TemplateVersion[]> {
  return q
    .select({
      version: notificationTemplates.version,
      active: notificationTemplates.active,
      source: notificationTemplates.source,
      dltTemplateId: notificationTemplates.dltTemplateId,
      dltText: notificationTemplates.dltText,
      createdBy: notificationTemplates.createdBy,
      createdAt: notificationTemplates.createdAt,
    })
    .from(notificationTemplates)
    .where(
      and(
        eq(notificationTemplates.type, key.type),
        eq(notificationTemplates.locale, key.locale),
        eq(notificationTemplates.field, key.field),
      ),
    )
    .orderBy(desc(notificationTemplates.version));
}
