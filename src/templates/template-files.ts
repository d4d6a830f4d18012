/**
 * The template files shipped in `templates/<locale>/<type>.json`: one file per notification type and
 * locale holding every channel's text. They are the source the `load-notification-templates` command
 * and the tests read; a malformed file is refused with the file and field named, never half-loaded.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { type ChannelName, getNotificationType } from '../catalog/catalog.ts';

export const TEMPLATE_FIELDS = [
  'sms',
  'email_subject',
  'email_text',
  'email_html',
  'in_app_title',
  'in_app_body',
  'push_title',
  'push_body',
] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

/** The channel a field is sent on: `email_subject` → email. */
export function fieldChannel(field: TemplateField): ChannelName {
  if (field === 'sms') return 'sms';
  if (field.startsWith('email_')) return 'email';
  if (field.startsWith('in_app_')) return 'in_app';
  return 'push';
}

export const LOCALES = ['en', 'hi', 'ta'] as const;
export const DEFAULT_LOCALE = 'en';

export interface TemplateSet {
  type: string;
  locale: string;
  fields: Record<TemplateField, string>;
  dltTemplateId?: string;
  dltText?: string;
}

const DEFAULT_DIR = resolve(import.meta.dirname, '../../templates');

const nonEmpty = z.string().trim().min(1, 'must be a non-empty string');

const templateFileSchema = z
  .strictObject({
    ...Object.fromEntries(TEMPLATE_FIELDS.map((field) => [field, nonEmpty])),
    dlt_template_id: z
      .string()
      .regex(/^\d{19}$/, 'must be the 19-digit template id from the DLT portal')
      .optional(),
    dlt_text: nonEmpty.optional(),
  })
  .refine((file) => (file.dlt_template_id === undefined) === (file.dlt_text === undefined), {
    message: 'dlt_template_id and dlt_text must be given together',
    path: ['dlt_text'],
  });

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`).join('; ');
}

function readJsonFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`Template file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function parseTemplateFile(path: string, locale: string): TemplateSet {
  const result = templateFileSchema.safeParse(readJsonFile(path));
  if (!result.success) {
    throw new Error(`Template file ${path} is invalid: ${describeIssues(result.error)}`);
  }
  const file = result.data as Record<TemplateField, string> & { dlt_template_id?: string; dlt_text?: string };
  const fields = Object.fromEntries(TEMPLATE_FIELDS.map((field) => [field, file[field]])) as Record<
    TemplateField,
    string
  >;
  const type = basename(path, '.json');
  if (!getNotificationType(type)) {
    // A misspelt file name would otherwise load fine and never be used.
    throw new Error(`Template file ${path} is not named after a notification type`);
  }
  return {
    type,
    locale,
    fields,
    ...(file.dlt_template_id ? { dltTemplateId: file.dlt_template_id, dltText: file.dlt_text } : {}),
  };
}

/** Reads every `<locale>/<type>.json` under `dir`, sorted by locale then type for stable output. */
export function loadTemplateFiles(dir: string = DEFAULT_DIR): TemplateSet[] {
  const sets: TemplateSet[] = [];
  const locales = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  for (const locale of locales.map((entry) => entry.name).sort()) {
    if (!(LOCALES as readonly string[]).includes(locale)) {
      throw new Error(
        `Template folder ${join(dir, locale)} is not a supported locale (${LOCALES.join(', ')})`,
      );
    }
    const files = readdirSync(join(dir, locale))
      .filter((name) => name.endsWith('.json'))
      .sort();
    for (const name of files) sets.push(parseTemplateFile(join(dir, locale, name), locale));
  }
  return sets;
}

/**
 * Frames: email layouts that are not a notification type (the digest wraps several notifications).
 * They live in `templates/<locale>/frames/<name>.json` with the email fields only, so the per-type
 * loader above (which reads `.json` files directly in the locale folder) never sees them.
 */
export const FRAMES = ['digest'] as const;
export const FRAME_FIELDS = ['email_subject', 'email_text', 'email_html'] as const;

const frameFileSchema = z.strictObject(Object.fromEntries(FRAME_FIELDS.map((field) => [field, nonEmpty])));

export interface FrameSet {
  frame: string;
  locale: string;
  fields: Record<(typeof FRAME_FIELDS)[number], string>;
}

/** Reads every `<locale>/frames/<frame>.json` under `dir`; an unknown frame name is refused. */
export function loadFrameFiles(dir: string = DEFAULT_DIR): FrameSet[] {
  const sets: FrameSet[] = [];
  for (const locale of LOCALES) {
    const folder = join(dir, locale, 'frames');
    if (!existsSync(folder)) continue;
    const names = readdirSync(folder).filter((name) => name.endsWith('.json'));
    for (const name of names.sort()) {
      const path = join(folder, name);
      const frame = basename(name, '.json');
      if (!(FRAMES as readonly string[]).includes(frame)) {
        throw new Error(`Template file ${path} is not a known frame (${FRAMES.join(', ')})`);
      }
      const result = frameFileSchema.safeParse(readJsonFile(path));
      if (!result.success)
        throw new Error(`Template file ${path} is invalid: ${describeIssues(result.error)}`);
      sets.push({ frame, locale, fields: result.data as FrameSet['fields'] });
    }
  }
  return sets;
}

/**
 * A well-formed BCP 47 tag whose language we have templates for ('hi', 'hi-IN'); refuses what is no
 * tag at all ('__proto__', '../../en') and languages we cannot speak ('xx').
 */
export function isSupportedLocale(tag: string): boolean {
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return (LOCALES as readonly string[]).includes(new Intl.Locale(canonical!).language);
  } catch {
    return false;
  }
}

/** Maps a user's or request's locale to one we have templates for: 'hi-IN' → 'hi', 'fr' → 'en'. */
export function resolveLocale(requested: string | null | undefined): string {
  const language = requested?.trim().toLowerCase().split(/[-_]/)[0];
  return LOCALES.find((locale) => locale === language) ?? DEFAULT_LOCALE;
}
