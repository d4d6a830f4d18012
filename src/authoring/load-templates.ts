/**
 * Loads template files into `notification_templates` (the seed's `load_notification_templates`).
 * Idempotent and versioned: a text equal to the active row changes nothing, a new one becomes
 * version 1, a changed one becomes the next version and the only active row; old versions stay.
 * Everything is checked before anything is written, and the writes are one transaction, so a load
 * either applies completely or leaves the database as it was. Shared by the CLI and the admin API.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { getNotificationType } from '../catalog/catalog.ts';
import type { Db, Queryable } from '../db/database.ts';
import { notificationTemplates } from '../db/schema.ts';
import { AppError } from '../errors.ts';
import { buildTemplateContext, validateTemplateSource } from '../templates/render.ts';
import { renderSmsPreview, renderTemplate } from '../templates/render-pool.ts';
import { TEMPLATE_FIELDS, type TemplateField, type TemplateSet } from '../templates/template-files.ts';
import { type LintRow, lintSmsTemplate } from './lint.ts';

export interface LoadSummary {
  created: number;
  updated: number;
  unchanged: number;
  /** The SMS lint of every loaded type that sends SMS; warnings never stop a load. */
  lint: LintRow[];
}

export interface LoadOptions {
  createdBy: string;
  /** Called as rows are checked and written, for a progress bar. */
  onProgress?: (done: number, total: number) => void;
  /** Runs in the load's transaction after its writes (the console's audit entry), so both or neither. */
  inTransaction?: (tx: Queryable, summary: Omit<LoadSummary, 'lint'>) => Promise<void>;
}

/** A template that cannot be loaded; names the type, locale and field. Nothing was written. */
export class TemplateLoadError extends Error {
  override name = 'TemplateLoadError';
  /** The API error it becomes: TEMPLATE_INVALID, or TEMPLATE_LIMIT_EXCEEDED naming `details.limit`. */
  readonly code: 'TEMPLATE_INVALID' | 'TEMPLATE_LIMIT_EXCEEDED';
  readonly details: Record<string, unknown> | undefined;
  /** The field that failed, when one did (an unknown type fails the whole set). */
  readonly field: TemplateField | undefined;

  constructor(message: string, cause?: AppError, field?: TemplateField) {
    super(message);
    this.field = field;
    this.code = cause?.code === 'TEMPLATE_LIMIT_EXCEEDED' ? cause.code : 'TEMPLATE_INVALID';
    this.details = cause?.details;
  }

  toAppError(): AppError {
    return new AppError(this.code, this.message, this.details);
  }
}

interface TemplateRow {
  type: string;
  field: TemplateField;
  locale: string;
  source: string;
  dltTemplateId: string | null;
  dltText: string | null;
}

// One loader at a time: a second one waits instead of failing on the one-active-row index.
const LOAD_LOCK = sql`select pg_advisory_xact_lock(hashtext('notification_templates:load'))`;
const INSERT_CHUNK = 100;

/**
 * Parses every field of every set, trial-renders it with its type's sample context, and lints every
 * SMS text that can be sent. Throws TemplateLoadError at the first template that does not parse, runs
 * past a render limit (a loop or capture that would stall every send of it), or names an unknown type.
 */
export async function checkTemplateSets(sets: readonly TemplateSet[]): Promise<LintRow[]> {
  const lint: LintRow[] = [];
  for (const set of sets) {
    const def = getNotificationType(set.type);
    if (!def) throw new TemplateLoadError(`Template ${set.type}/${set.locale}: unknown notification type`);
    const sample = def.sampleContext;
    const firstName = typeof sample['first_name'] === 'string' ? sample['first_name'] : null;
    const context = buildTemplateContext(
      { firstName, lastName: null, email: null, locale: set.locale },
      sample,
    );
    for (const field of TEMPLATE_FIELDS) {
      try {
        validateTemplateSource(set.fields[field]);
      } catch (err) {
        throw new TemplateLoadError(
          `Template ${set.type}/${set.locale} field ${field} does not parse: ${(err as Error).message}`,
          err instanceof AppError ? err : undefined,
          field,
        );
      }
      await refuseOverLimit(set, field, context);
    }
    if (!def.channels.includes('sms')) continue;
    const input = { source: set.fields.sms, sampleContext: context, dltText: set.dltText };
    lint.push({ type: set.type, locale: set.locale, report: await lintSmsTemplate(input, renderSmsPreview) });
  }
  return lint;
}

/**
 * A render with the sample context that hits a limit would hit it on every send; other render failures
 * (a variable the sample lacks) stay lint warnings because real contexts may carry it.
 */
async function refuseOverLimit(
  set: TemplateSet,
  field: TemplateField,
  context: Record<string, unknown>,
): Promise<void> {
  try {
    await renderField(field, set.fields[field], context);
  } catch (err) {
    if (err instanceof AppError && err.code === 'TEMPLATE_LIMIT_EXCEEDED') {
      const { limit, max } = err.details as { limit: string; max: number };
      throw new TemplateLoadError(
        `Template ${set.type}/${set.locale} field ${field} exceeds the ${limit} limit (${max}) with the sample context (TEMPLATE_LIMIT_EXCEEDED)`,
        err,
        field,
      );
    }
  }
}

export async function loadTemplatesIntoDb(
  db: Db,
  sets: readonly TemplateSet[],
  opts: LoadOptions,
): Promise<LoadSummary> {
  const lint = await checkTemplateSets(sets);
  const rows = sets.flatMap(toRows);
  const total = rows.length;
  return db.transaction(async (tx) => {
    await tx.execute(LOAD_LOCK);
    const active = new Map((await activeRows(tx)).map((r) => [key(r), r]));
    const latest = await latestVersions(tx);
    const inserts: Array<TemplateRow & { version: number; createdBy: string }> = [];
    const deactivate: number[] = [];
    let unchanged = 0;
    let created = 0;
    for (const row of rows) {
      const current = active.get(key(row));
      if (current && sameText(current, row)) {
        unchanged++;
        continue;
      }
      if (current) deactivate.push(current.id);
      else created++;
      inserts.push({ ...row, version: (latest.get(key(row)) ?? 0) + 1, createdBy: opts.createdBy });
    }
    let done = unchanged;
    opts.onProgress?.(done, total);
    if (deactivate.length > 0) {
      await tx
        .update(notificationTemplates)
        .set({ active: false })
        .where(inArray(notificationTemplates.id, deactivate));
    }
    for (let i = 0; i < inserts.length; i += INSERT_CHUNK) {
      const chunk = inserts.slice(i, i + INSERT_CHUNK);
      await tx.insert(notificationTemplates).values(chunk.map((r) => ({ ...r, active: true })));
      done += chunk.length;
      opts.onProgress?.(done, total);
    }
    const counts = { created, updated: deactivate.length, unchanged };
    await opts.inTransaction?.(tx, counts);
    return { ...counts, lint };
  });
}

/** The active versions of one notification type, for the seed's "verify templates" check. */
export async function activeTemplatesOfType(
  q: Queryable,
  type: string,
): Promise<Array<{ field: string; locale: string; version: number }>> {
  return q
    .select({
      field: notificationTemplates.field,
      locale: notificationTemplates.locale,
      version: notificationTemplates.version,
    })
    .from(notificationTemplates)
    .where(and(eq(notificationTemplates.type, type), eq(notificationTemplates.active, true)))
    .orderBy(notificationTemplates.locale, notificationTemplates.field);
}

function toRows(set: TemplateSet): TemplateRow[] {
  return TEMPLATE_FIELDS.map((field) => ({
    type: set.type,
    field,
    locale: set.locale,
    source: set.fields[field],
    // DLT registration belongs to the SMS text only (as the template store reads it).
    dltTemplateId: field === 'sms' ? (set.dltTemplateId ?? null) : null,
    dltText: field === 'sms' ? (set.dltText ?? null) : null,
  }));
}

function sameText(a: Omit<TemplateRow, 'field'>, b: Omit<TemplateRow, 'field'>): boolean {
  return a.source === b.source && a.dltTemplateId === b.dltTemplateId && a.dltText === b.dltText;
}

async function activeRows(q: Queryable) {
  return q
    .select({
      id: notificationTemplates.id,
      type: notificationTemplates.type,
      field: notificationTemplates.field,
      locale: notificationTemplates.locale,
      source: notificationTemplates.source,
      dltTemplateId: notificationTemplates.dltTemplateId,
      dltText: notificationTemplates.dltText,
    })
    .from(notificationTemplates)
    .where(eq(notificationTemplates.active, true));
}

async function latestVersions(q: Queryable): Promise<Map<string, number>> {
  const rows = await q
    .select({
      type: notificationTemplates.type,
      field: notificationTemplates.field,
      locale: notificationTemplates.locale,
      version: sql<number>`max(${notificationTemplates.version})`.mapWith(Number),
    })
    .from(notificationTemplates)
    .groupBy(notificationTemplates.type, notificationTemplates.field, notificationTemplates.locale);
  return new Map(rows.map((r) => [key(r), r.version]));
}

function key(r: { type: string; field: string; locale: string }): string {
  return `${r.type}\u0000${r.field}\u0000${r.locale}`;
}

/** A field as its channel renders it: the SMS with its tracked links (stored nowhere), HTML escaped. */
export function renderField(
  field: TemplateField,
  source: string,
  context: Record<string, unknown>,
): Promise<string> {
  if (field === 'sms') return renderSmsPreview(source, context);
  return renderTemplate(source, context, { escapeHtml: field === 'email_html' });
}
