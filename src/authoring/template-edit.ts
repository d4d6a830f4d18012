/**
 * Editing one template field, as the admin API and the console both do it: the set the field belongs
 * to, the checks that refuse an edit (errors) or only warn, and the save as a new version. One copy,
 * so a template the console saves is exactly one the API would have saved.
 */
import { and, eq } from 'drizzle-orm';
import type { Db, Queryable } from '../db/database.ts';
import { notificationTemplates } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import type { TemplateField, TemplateSet } from '../templates/template-files.ts';
import { TEMPLATE_FIELDS } from '../templates/template-files.ts';
import type { TemplateSource, TemplateStore } from '../templates/template-store.ts';
import type { LintRow, LintWarning } from './lint.ts';
import { checkTemplateSets, loadTemplatesIntoDb, TemplateLoadError } from './load-templates.ts';

export interface FieldEdit {
  type: string;
  locale: string;
  field: TemplateField;
  source: string;
  /** SMS only; undefined keeps the registered DLT fields, null clears them. */
  dltTemplateId?: string | null | undefined;
  dltText?: string | null | undefined;
}

/**
 * An error stops a save (TEMPLATE_INVALID, TEMPLATE_LIMIT_EXCEEDED, SMS_DLT_MISMATCH,
 * TEMPLATE_LINK_NOT_ALLOWED); a warning never does.
 */
export interface TemplateCheck {
  errors: Array<{ field: TemplateField | undefined; error: AppError }>;
  warnings: LintWarning[];
  lint: LintRow[];
}

/** The active source of every field of a type in a locale (each falling back to English). */
export function currentSet(templates: TemplateStore, type: string, locale: string): TemplateSet {
  const fields = {} as Record<TemplateField, string>;
  for (const f of TEMPLATE_FIELDS) {
    const t = templates.get(type, f, locale);
    if (!t) throw new AppError('TEMPLATE_NOT_FOUND', `No ${f} template for ${type}`);
    fields[f] = t.source;
  }
  const sms = templates.get(type, 'sms', locale)!;
  return { type, locale, fields, dltTemplateId: sms.dltTemplateId, dltText: sms.dltText };
}

/** The set with one field replaced (a copy: the store's sources are never changed in place). */
export function withEdit(set: TemplateSet, edit: FieldEdit): TemplateSet {
  const next: TemplateSet = { ...set, fields: { ...set.fields, [edit.field]: edit.source } };
  if (edit.field === 'sms') {
    if (edit.dltTemplateId !== undefined) next.dltTemplateId = edit.dltTemplateId ?? undefined;
    if (edit.dltText !== undefined) next.dltText = edit.dltText ?? undefined;
  }
  return next;
}

/**
 * What a save would say about a set. An SMS text that no longer matches its registered DLT template
 * would fail every send (carriers reject it), so that lint warning is an error here.
 */
export async function checkTemplateSet(set: TemplateSet): Promise<TemplateCheck> {
  let lint: LintRow[];
  try {
    lint = await checkTemplateSets([set]);
  } catch (err) {
    if (!(err instanceof TemplateLoadError)) throw err;
    return { errors: [{ field: err.field, error: err.toAppError() }], warnings: [], lint: [] };
  }
  const all = lint.flatMap((r) => r.report.warnings);
  const errors = all.flatMap((w) => {
    const error = saveError(w);
    return error ? [{ field: 'sms' as const, error }] : [];
  });
  return { errors, warnings: all.filter((w) => !saveError(w)), lint };
}

/** The lint warnings that mean every send would fail, so a save refuses them. */
function saveError(w: LintWarning): AppError | undefined {
  if (w.code === 'DLT_MISMATCH') {
    return new AppError(
      'SMS_DLT_MISMATCH',
      `${w.message}. Send dlt_text (and dlt_template_id) registered for the new text, or keep the text.`,
    );
  }
  if (w.code === 'LINK_NOT_ALLOWED') return new AppError('TEMPLATE_LINK_NOT_ALLOWED', w.message);
  return undefined;
}

export interface SavedTemplate {
  /** The active version after the save. */
  version: number | null;
  /** False when the text equals the active version: no version was made. */
  changed: boolean;
  lint: LintRow[];
  before: TemplateSource;
}

export interface SaveOptions {
  createdBy: string;
  /** In the save's transaction, only when a version was made (the console's audit entry). */
  onSaved?: (tx: Queryable, saved: { version: number; before: TemplateSource }) => Promise<void>;
}

/**
 * Save one field as a new active version (every old one kept). Throws the first error of
 * `checkTemplateSet` and writes nothing then. The store is reloaded so sends use the new text at once.
 */
export async function saveTemplateEdit(
  db: Db,
  templates: TemplateStore,
  edit: FieldEdit,
  opts: SaveOptions,
): Promise<SavedTemplate> {
  const before = templates.get(edit.type, edit.field, edit.locale);
  if (!before) throw new AppError('TEMPLATE_NOT_FOUND', `No ${edit.field} template for ${edit.type}`);
  const set = withEdit(currentSet(templates, edit.type, edit.locale), edit);
  const check = await checkTemplateSet(set);
  if (check.errors[0]) throw check.errors[0].error;
  const summary = await loadTemplatesIntoDb(db, [set], {
    createdBy: opts.createdBy,
    inTransaction: async (tx, counts) => {
      if (counts.created + counts.updated === 0 || !opts.onSaved) return;
      const version = await activeVersion(tx, edit);
      if (version !== undefined) await opts.onSaved(tx, { version, before });
    },
  }).catch((err: unknown) => {
    throw err instanceof TemplateLoadError ? err.toAppError() : err;
  });
  await templates.reload(db);
  return {
    version: templates.get(edit.type, edit.field, edit.locale)!.version,
    changed: summary.created + summary.updated > 0,
    lint: summary.lint,
    before,
  };
}

async function activeVersion(q: Queryable, edit: FieldEdit): Promise<number | undefined> {
  const [row] = await q
    .select({ version: notificationTemplates.version })
    .from(notificationTemplates)
    .where(
      and(
        eq(notificationTemplates.type, edit.type),
        eq(notificationTemplates.locale, edit.locale),
        eq(notificationTemplates.field, edit.field),
        eq(notificationTemplates.active, true),
      ),
    );
  return row?.version;
}
