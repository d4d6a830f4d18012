import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { notificationTemplates, templateVariantGroups, templateVariants } from '../db/schema.ts';
import {
  DEFAULT_LOCALE,
  fieldChannel,
  loadFrameFiles,
  loadTemplateFiles,
  resolveLocale,
  type TemplateField,
} from './template-files.ts';
import { pickVariant } from './variant-assignment.ts';

export interface TemplateSource {
  source: string;
  locale: string;
  version: number | null;
  dltTemplateId?: string | undefined;
  dltText?: string | undefined;
}

/** The A/B variant a text came from, as a delivery records it (`details.variant`). */
export interface VariantRef {
  id: number;
  group: number;
  label: string;
}

/** A field's text for one recipient: the running test's variant when there is one, else the template's. */
export type ChosenSource = TemplateSource & { variant?: VariantRef };

interface RunningVariant {
  id: number;
  label: string;
  weight: number;
  fields: Record<string, string>;
  dltTemplateId: string | null;
  dltText: string | null;
}

/**
 * Where a template is looked up: the active database version (edited by admins) wins over the file
 * shipped in templates/, and a locale without a translation falls back to English. Held in memory
 * because it is read for every delivery; `reload` after an edit or a template load.
 */
export class TemplateStore {
  #byKey = new Map<string, TemplateSource>();
  /** Running A/B tests by type × channel × locale (templates/variant-assignment.ts). */
  #groups = new Map<string, { id: number; variants: RunningVariant[] }>();
  readonly #fileDir: string | undefined;

  constructor(fileDir?: string) {
    this.#fileDir = fileDir;
    this.#loadFiles();
  }

  get(type: string, field: TemplateField, locale: string | null | undefined): TemplateSource | undefined {
    const wanted = resolveLocale(locale);
    return this.#byKey.get(key(type, field, wanted)) ?? this.#byKey.get(key(type, field, DEFAULT_LOCALE));
  }

  /**
   * The field's text for the user `userKey` (their external id): the variant of the test running
   * on the locale the template resolved to, else the template itself.
   */
  choose(
    type: string,
    field: TemplateField,
    locale: string | null | undefined,
    userKey: string,
  ): ChosenSource | undefined {
    const base = this.get(type, field, locale);
    if (!base) return undefined;
    const group = this.#groups.get(key(type, fieldChannel(field), base.locale));
    const variant = group && pickVariant(group.id, userKey, group.variants);
    const source = variant?.fields[field];
    if (!group || !variant || source === undefined) return base;
    return {
      source,
      locale: base.locale,
      version: base.version,
      ...(field === 'sms'
        ? { dltTemplateId: variant.dltTemplateId ?? undefined, dltText: variant.dltText ?? undefined }
        : {}),
      variant: { id: variant.id, group: group.id, label: variant.label },
    };
  }

  async reload(q: Queryable): Promise<void> {
    const groups = await q
      .select({ group: templateVariantGroups, variant: templateVariants })
      .from(templateVariants)
      .innerJoin(templateVariantGroups, eq(templateVariantGroups.id, templateVariants.groupId))
      .where(eq(templateVariantGroups.status, 'running'));
    this.#groups = new Map();
    for (const { group: g, variant: v } of groups) {
      const k = key(g.type, g.channel, g.locale);
      const entry = this.#groups.get(k) ?? { id: g.id, variants: [] };
      entry.variants.push({
        id: v.id,
        label: v.label,
        weight: v.weight,
        fields: v.fields,
        dltTemplateId: v.dltTemplateId,
        dltText: v.dltText,
      });
      this.#groups.set(k, entry);
    }
    this.#byKey = new Map();
    this.#loadFiles();
    const rows = await q.select().from(notificationTemplates).where(eq(notificationTemplates.active, true));
    for (const r of rows) {
      this.#byKey.set(key(r.type, r.field as TemplateField, r.locale), {
        source: r.source,
        locale: r.locale,
        version: r.version,
        dltTemplateId: r.dltTemplateId ?? undefined,
        dltText: r.dltText ?? undefined,
      });
    }
  }

  #loadFiles(): void {
    for (const set of loadTemplateFiles(this.#fileDir)) {
      for (const [field, source] of Object.entries(set.fields)) {
        const sms = field === 'sms';
        this.#byKey.set(key(set.type, field as TemplateField, set.locale), {
          source,
          locale: set.locale,
          version: null,
          dltTemplateId: sms ? set.dltTemplateId : undefined,
          dltText: sms ? set.dltText : undefined,
        });
      }
    }
    // A frame is looked up like a type: `get('digest', 'email_subject', locale)`.
    for (const set of loadFrameFiles(this.#fileDir)) {
      for (const [field, source] of Object.entries(set.fields)) {
        this.#byKey.set(key(set.frame, field as TemplateField, set.locale), {
          source,
          locale: set.locale,
          version: null,
        });
      }
    }
  }
}

function key(type: string, field: string, locale: string): string {
  return `${type}\u0000${field}\u0000${locale}`;
}
