/**
 * SMS template lint: renders a template with its notification type's sample context and reports what
 * costs money or breaks delivery — extra segments, UCS-2 forced by a stray character, sensitive data,
 * a missing brand prefix, text that no longer matches the India DLT registration. The renderer is a
 * parameter so the lint runs on any template source without the template store.
 */
import { dltMismatchReason } from '../channels/sms/dlt.ts';
import { analyzeSms, type SmsEncoding } from '../channels/sms/segments.ts';
import { AppError } from '../errors.ts';

export type LintWarningCode =
  | 'MULTI_SEGMENT'
  | 'UCS2_FORCED'
  | 'SENSITIVE_DATA'
  | 'MISSING_BRAND_PREFIX'
  | 'DLT_MISMATCH'
  | 'LINK_NOT_ALLOWED'
  | 'RENDER_FAILED';

export interface LintWarning {
  code: LintWarningCode;
  message: string;
}

export interface LintReport {
  encoding: SmsEncoding;
  characters: number;
  segments: number;
  rendered: string;
  warnings: LintWarning[];
}

export interface LintInput {
  source: string;
  sampleContext: Record<string, unknown>;
  dltText?: string;
}

export type Render = (source: string, context: Record<string, unknown>) => Promise<string>;

export const BRAND_PREFIX = 'LaundryConnect:';
/**
 * At most this many distinct non-GSM characters counts as "forced": a stray ₹ or emoji in English
 * text is worth replacing, while Hindi or Tamil text is UCS-2 by nature and has dozens.
 */
const FORCED_UCS2_MAX_DISTINCT = 3;

// Lookarounds instead of \b so `{{ user_password }}` and `otp_code` are caught in the source too.
const SENSITIVE_WORDS: Array<{ label: string; pattern: RegExp }> = [
  { label: 'a password', pattern: /(?<![a-z])pass(?:word|wd)(?![a-z])/i },
  {
    label: 'a one-time or verification code',
    pattern: /(?<![a-z])otp(?![a-z])|one[- ]time\s*(?:code|pass)|verification[\s_]*code/i,
  },
  // "PIN code" is India's postal code, common in addresses.
  { label: 'a PIN', pattern: /(?<![a-z])pin(?![a-z])(?![\s_-]*code)/i },
  { label: 'a card security code (CVV)', pattern: /(?<![a-z])(?:cvv2?|cvc)(?![a-z])/i },
  { label: 'a card number variable', pattern: /\{\{[^}]*card[_-]?(?:number|no|num)\b[^}]*\}\}/i },
];
// 13–19 digits, optionally grouped by single spaces or dashes as cards are printed.
const DIGIT_RUN = /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g;

export async function lintSmsTemplate(input: LintInput, render: Render): Promise<LintReport> {
  let rendered: string;
  try {
    rendered = await render(input.source, input.sampleContext);
  } catch (err) {
    const analysis = analyzeSms(input.source);
    return {
      encoding: analysis.encoding,
      characters: analysis.characters,
      segments: analysis.segments,
      rendered: '',
      warnings: [
        // A refused link fails every send, whatever the context: named apart from a sample's gaps.
        err instanceof AppError && err.code === 'TEMPLATE_LINK_NOT_ALLOWED'
          ? { code: 'LINK_NOT_ALLOWED', message: `${err.message}; every send of it would fail` }
          : {
              code: 'RENDER_FAILED',
              message: `Rendering with the sample context failed (${(err as Error).message}); counts are for the raw source`,
            },
      ],
    };
  }

  const analysis = analyzeSms(rendered);
  const warnings: LintWarning[] = [];
  if (analysis.segments > 1) {
    warnings.push({
      code: 'MULTI_SEGMENT',
      message: `${analysis.segments} segments with the sample context (${analysis.characters} ${analysis.encoding} characters, ${analysis.perSegment} per segment); each segment is billed`,
    });
  }
  const forcing = analysis.nonGsmCharacters;
  if (forcing.length > 0 && forcing.length <= FORCED_UCS2_MAX_DISTINCT) {
    warnings.push({
      code: 'UCS2_FORCED',
      message: `UCS-2 forced by ${forcing.map(describeChar).join(', ')}: 70 chars per segment instead of 160`,
    });
  }
  const sensitive = findSensitiveData(input.source, rendered);
  if (sensitive.length > 0) {
    warnings.push({
      code: 'SENSITIVE_DATA',
      message: `Mentions ${sensitive.join(', ')}: SMS is not a safe channel for secrets or card data`,
    });
  }
  if (!rendered.startsWith(BRAND_PREFIX)) {
    warnings.push({ code: 'MISSING_BRAND_PREFIX', message: `Does not start with "${BRAND_PREFIX}"` });
  }
  const dltReason = input.dltText === undefined ? null : dltMismatchReason(rendered, input.dltText);
  if (dltReason) {
    warnings.push({ code: 'DLT_MISMATCH', message: `Does not match the registered DLT text: ${dltReason}` });
  }
  return {
    encoding: analysis.encoding,
    characters: analysis.characters,
    segments: analysis.segments,
    rendered,
    warnings,
  };
}

/** `"₹" (U+20B9)`; a multi-code-point grapheme lists each code point. */
function describeChar(char: string): string {
  const codePoints = [...char].map(
    (c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
  );
  return `"${char}" (${codePoints.join(' ')})`;
}

/** The source shows variable names (`{{ user.password }}`), the rendered text shows the values. */
function findSensitiveData(source: string, rendered: string): string[] {
  const text = `${source}\n${rendered}`;
  const found = SENSITIVE_WORDS.filter(({ pattern }) => pattern.test(text)).map(({ label }) => label);
  // Luhn keeps order and transaction ids (also long digit runs) from passing for card numbers.
  const cards = (rendered.match(DIGIT_RUN) ?? []).filter((run) => passesLuhn(run.replace(/\D/g, '')));
  if (cards.length > 0) found.push(`a card number (${cards.join(', ')})`);
  return found;
}

function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

export interface LintRow {
  type: string;
  locale: string;
  report: LintReport;
}

/** A plain-text table for the CLI, then each warning in full. */
export function formatLintReport(rows: LintRow[]): string {
  const header = ['TYPE', 'LOCALE', 'ENCODING', 'CHARS', 'SEGMENTS', 'WARNINGS'];
  const cells = rows.map(({ type, locale, report }) => [
    type,
    locale,
    report.encoding,
    String(report.characters),
    String(report.segments),
    report.warnings.map((w) => w.code).join(', ') || '-',
  ]);
  const widths = header.map((title, col) => Math.max(title.length, ...cells.map((row) => row[col]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, col) => cell.padEnd(widths[col]!))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...cells.map(line)];

  const warned = rows.filter((row) => row.report.warnings.length > 0);
  out.push(
    '',
    `${rows.length} SMS template(s), ${warned.length} with warnings. Counts use each type's sample context.`,
  );
  for (const { type, locale, report } of warned) {
    for (const warning of report.warnings)
      out.push(`  ${type}/${locale} ${warning.code}: ${warning.message}`);
  }
  return out.join('\n');
}
