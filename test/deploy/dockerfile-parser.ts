/**
 * Just enough of the Dockerfile grammar to check ours and run it as a script: comments, line
 * continuations, `--flag=value` options, exec (JSON) and shell forms, ENV pairs, HEALTHCHECK CMD.
 * Not a general parser (no ARG expansion, heredocs or escape directive): ours uses none.
 */
export interface Instruction {
  keyword: string;
  /** Leading `--name=value` options (RUN --mount, COPY --from, HEALTHCHECK --interval). */
  flags: Record<string, string>;
  /** The rest of the line after the flags, as written. */
  args: string;
  /** The exec form's words, when the arguments are a JSON array. */
  exec: string[] | undefined;
  line: number;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    // A comment line is dropped, also inside a continued instruction (as Docker does).
    if (/^\s*#/.test(raw) || (buffer === '' && raw.trim() === '')) return;
    if (buffer === '') start = index + 1;
    const continued = /\\\s*$/.test(raw);
    buffer += `${buffer === '' ? '' : ' '}${raw.replace(/\\\s*$/, '').trim()}`;
    if (!continued) {
      out.push(parseInstruction(buffer, start));
      buffer = '';
    }
  });
  if (buffer !== '') throw new Error(`line ${start}: the file ends inside a continued instruction`);
  return out;
}

function parseInstruction(text: string, line: number): Instruction {
  const match = /^(\S+)\s*(.*)$/.exec(text);
  if (!match) throw new Error(`line ${line}: no instruction`);
  let rest = match[2]!;
  const flags: Record<string, string> = {};
  for (let m = /^--([\w-]+)=(\S+)\s*/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s*/.exec(rest)) {
    flags[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  return { keyword: match[1]!.toUpperCase(), flags, args: rest, exec: execForm(rest, line), line };
}

function execForm(args: string, line: number): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const words: unknown = JSON.parse(args);
  if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) {
    throw new Error(`line ${line}: an exec form must be a JSON array of strings`);
  }
  return words;
}

/** `ENV A=1 B="two words"` (and the old `ENV A 1`) as pairs. */
export function envPairs(instruction: Instruction): Record<string, string> {
  const args = instruction.args;
  if (!/^[\w.-]+=/.test(args)) {
    const [name, ...value] = args.split(/\s+/);
    return { [name!]: value.join(' ') };
  }
  const pairs: Record<string, string> = {};
  for (const m of args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    pairs[m[1]!] = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
  }
  return pairs;
}

/** HEALTHCHECK's command: its options, and the CMD's exec words. */
export function healthcheckCommand(instruction: Instruction): string[] | undefined {
  const cmd = /^CMD\s+(.*)$/.exec(instruction.args)?.[1];
  if (cmd === undefined) return undefined;
  return execForm(cmd, instruction.line) ?? ['/bin/sh', '-c', cmd];
}
