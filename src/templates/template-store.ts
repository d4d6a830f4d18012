import { eq } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';
import { notificationTemplates } from '../db/schema.ts';
import {
  DEFAULT_LOCALE,
  loadFrameFiles,
  loadTemplateFiles,
  resolveLocale,
  type TemplateField,
} from './template-files.ts';

export interface TemplateSource {
  source: string;
  locale: string;
  version: number | null;
  dltTemplateId?: string | undefined;
  dltText?: string | undefined;
}

/**
 * Where a template is looked up: the active database version (edited by admins) wins over the file
 * shipped in templates/, and a locale without a translation falls back to English. Held in memory
 * because it is read for every delivery; `reload` after an edit or a template load.
 */
export class TemplateStore {
  #byKey = new Map<string, TemplateSource>();
  readonly #fileDir: string | undefined;

  constructor(fileDir?: string) {
    this.#fileDir = fileDir;
    this.#loadFiles();
  }

  get(type: string, field: TemplateField, locale: string | null | undefined): TemplateSource | undefined {
    const wanted = resolveLocale(locale);
    return this.#byKey.get(key(type, field, wanted)) ?? this.#byKey.get(key(type, field, DEFAULT_LOCALE));
  }

  async reload(q: Queryable): Promise<void> {
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

function key(type: string, field: TemplateField, locale: string): string {
  return `${type}\u0000${field}\u0000${locale}`;
}
