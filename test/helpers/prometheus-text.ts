/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: every line is a
 * `# HELP`, a `# TYPE` or a sample of a metric whose TYPE came first; label values are quoted with
 * `\\`, `\"` and `\n` escapes; a value is a float, +Inf, -Inf or NaN (any case, as Prometheus's Go parser takes them). Anything else throws, so an
 * answer a Prometheus server would refuse fails the test.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

export function parsePrometheusText(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, i) => {
      const at = `line ${i + 1} (${JSON.stringify(line)})`;
      if (line === '') return;
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (meta) {
        if (meta[1] === 'TYPE') {
          if (!/^(counter|gauge|histogram|summary|untyped)$/.test(meta[3]!))
            throw new Error(`${at}: bad type`);
          if (types.has(meta[2]!)) throw new Error(`${at}: a second TYPE for ${meta[2]}`);
          types.set(meta[2]!, meta[3]!);
        }
        return;
      }
      if (line.startsWith('#')) throw new Error(`${at}: a comment that is neither HELP nor TYPE`);
      samples.push(parseSample(line, at, types));
    });
  return { types, samples };
}

function parseSample(line: string, at: string, types: Map<string, string>): Sample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error(`${at}: no metric name`);
  const family = [
    name,
    ...SUFFIXES.filter((s) => name.endsWith(s)).map((s) => name.slice(0, -s.length)),
  ].find((n) => types.has(n));
  if (!family) throw new Error(`${at}: sample of ${name} before its TYPE`);
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    while (!rest.startsWith('}')) {
      const label = LABEL.exec(rest)?.[0];
      if (!label || rest[label.length] !== '=' || rest[label.length + 1] !== '"')
        throw new Error(`${at}: bad label`);
      rest = rest.slice(label.length + 2);
      let value = '';
      for (;;) {
        const c = rest[0];
        if (c === undefined) throw new Error(`${at}: unterminated label value`);
        rest = rest.slice(1);
        if (c === '"') break;
        if (c === '\\') {
          const e = rest[0];
          rest = rest.slice(1);
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`${at}: bad escape \\${e}`);
        } else value += c;
      }
      if (label in labels) throw new Error(`${at}: label ${label} twice`);
      labels[label] = value;
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new Error(`${at}: expected , or }`);
    }
    rest = rest.slice(1);
  }
  const m = /^ (\S+)( -?\d+)?$/.exec(rest);
  if (!m) throw new Error(`${at}: expected " value [timestamp]"`);
  // As Prometheus reads it (Go's strconv.ParseFloat): Inf and NaN in any case (prom-client writes `Nan`).
  const raw = m[1]!.toLowerCase();
  const value = /^[+]?inf$/.test(raw)
    ? Infinity
    : raw === '-inf'
      ? -Infinity
      : raw === 'nan'
        ? NaN
        : Number(raw);
  if (Number.isNaN(value) && raw !== 'nan') throw new Error(`${at}: value ${m[1]} is not a number`);
  return { name, labels, value };
}

/** The samples of one metric whose labels include `labels`. */
export function samplesOf(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of those samples' values (0 with none). */
export function sumOf(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return samplesOf(e, name, labels).reduce((sum, s) => sum + s.value, 0);
}
