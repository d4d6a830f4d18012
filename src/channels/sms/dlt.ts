/**
 * India DLT: carriers drop an SMS whose text does not match its registered content template, where
 * each `{#var#}` stands for one variable value. We check before sending, because the carrier only
 * answers with a failed delivery and no reason.
 */

const VAR = '{#var#}';
/**
 * Longest value one `{#var#}` may hold. The commonly cited DLT limit is 30 characters (MSG91 documents
 * 40); we hold to the stricter figure so a message that passes here is not refused for length anywhere.
 */
export const DLT_VAR_MAX_CHARS = 30;

const REGEX_SYNTAX = /[\\^$.*+?()[\]{}|/]/g;

function escapeRegex(literal: string): string {
  return literal.replace(REGEX_SYNTAX, '\\$&');
}

/** `literals` are the fixed texts around the slots: always one more than there are slots. */
function compile(literals: string[], slot: string, anchoredEnd: boolean): RegExp {
  // `u` so slot lengths count code points, as DLT counts characters; `s` so `.` crosses newlines.
  return new RegExp(`^${literals.map(escapeRegex).join(slot)}${anchoredEnd ? '$' : ''}`, 'su');
}

const STRICT_SLOT = `(.{1,${DLT_VAR_MAX_CHARS}}?)`;
const LOOSE_SLOT = '(.*?)';

export function matchesDltTemplate(rendered: string, dltText: string): boolean {
  return compile(dltText.split(VAR), STRICT_SLOT, true).test(rendered);
}

/** Why `rendered` does not match the DLT template, in words a template author can act on; null if it does. */
export function dltMismatchReason(rendered: string, dltText: string): string | null {
  const literals = dltText.split(VAR);
  if (compile(literals, STRICT_SLOT, true).test(rendered)) return null;

  // The fixed text matches, so some value is empty or too long.
  const loose = compile(literals, LOOSE_SLOT, true).exec(rendered);
  if (loose) {
    const values = loose.slice(1);
    const empty = values.indexOf('');
    if (empty >= 0) return `{#var#} #${empty + 1} is empty; DLT needs at least one character`;
    const long = values.findIndex((v) => [...v].length > DLT_VAR_MAX_CHARS);
    if (long >= 0) {
      const value = values[long]!;
      return `{#var#} #${long + 1} is ${[...value].length} characters ("${value}"); DLT allows at most ${DLT_VAR_MAX_CHARS}`;
    }
    return `the {#var#} values cannot be split into 1–${DLT_VAR_MAX_CHARS} characters each`;
  }

  // Find how much of the fixed text matches, then name the first piece that does not.
  let matched = 0;
  while (
    matched < literals.length &&
    compile(literals.slice(0, matched + 1), LOOSE_SLOT, false).test(rendered)
  ) {
    matched++;
  }
  if (matched === 0) return describeDivergence(rendered, literals[0]!);
  if (matched < literals.length) {
    return `the fixed text "${literals[matched]}" after {#var#} #${matched} is not in the message`;
  }
  const end = compile(literals, LOOSE_SLOT, false).exec(rendered)![0].length;
  return `the message has extra text after the end of the DLT template: "${rendered.slice(end, end + 20)}"`;
}

function describeDivergence(rendered: string, expected: string): string {
  let at = 0;
  while (at < expected.length && rendered[at] === expected[at]) at++;
  const found = rendered.slice(at, at + 20);
  return `differs at character ${at + 1}: the template has "${expected.slice(at, at + 20)}", the message has ${found ? `"${found}"` : 'nothing more'}`;
}
