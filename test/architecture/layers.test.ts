import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { test } from 'node:test';

/**
 * The folders of src/ in layers, lowest first: a file may import from its own folder and from any
 * LOWER layer, never from a higher one nor from another folder of its own layer. The path of a
 * notification reads downwards — events → notifications → deliveries → channels — and its return
 * leg (tracking: provider statuses; inbound: replies) enters from the top like an event does. A new
 * import that runs back up fails here: move the shared piece down, or pass it in from the
 * composition root (src/app.ts), instead of adding the import. docs/architecture.md shows this table.
 */
export const LAYERS: ReadonlyArray<readonly [folders: readonly string[], job: string]> = [
  [['base'], 'config, errors, logger, clock, time zones, text rules'],
  [['db'], 'the schema, migrations and both engines'],
  [['users'], 'user attributes and which users match a filter (the audience query)'],
  [['catalog'], 'which notification types and channels exist'],
  [['links'], "tracked links: the track filter's rules, their rows and their clicks"],
  [['templates', 'auth'], 'rendering templates; API keys, sessions and signed tokens'],
  [['channels'], 'sending one delivery through one provider (sms, email, push)'],
  [['webhooks'], "the outbound webhooks to the marketplace backend: the outbox's sender and its SSRF guard"],
  [
    ['deliveries', 'authoring', 'sandbox'],
    "the queue and its state machine; checking and previewing templates; the providers' look-alike",
  ],
  [
    ['setup'],
    'building each channel from the configuration, and the built-in sandbox when it is the backend',
  ],
  [['preferences'], 'who wants what, when: opt-in/out, quiet hours, caps'],
  [['notifications', 'digest', 'stats'], 'deciding and creating notifications; the digest; figures'],
  [['campaigns'], 'promotional campaigns: audience, estimate, paced expansion into notifications, control'],
  [['retention'], 'deleting old, finished rows in batches (the stats rollup keeps their figures)'],
  [['operator'], "the CLI's operations on the database, and the socket a running serve answers them on"],
  [
    ['events', 'tracking', 'inbound', 'inbox'],
    "the ways in: marketplace events, providers' status reports and replies, the in-app inbox",
  ],
  [['telemetry'], 'metrics (Prometheus) and traces (OpenTelemetry): what the service measures'],
  [['http'], 'the HTTP API: routes, auth, admission, errors'],
  [['console', 'me'], 'the operators’ console and the end-user pages'],
  [['app'], 'the composition root: builds and wires every part'],
  [['cli'], 'the command line (`serve` runs the composition root)'],
];

const root = join(import.meta.dirname, '..', '..');
const src = join(root, 'src');

/** The folder a src/ file belongs to: its first directory; files at the top are `base`, app.ts is `app` (with src/app/). */
function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts.length > 1) return parts[0]!;
  return file === 'app.ts' ? 'app' : 'base';
}

const rank = new Map(LAYERS.flatMap(([folders], i) => folders.map((f) => [f, i] as const)));

const files = (readdirSync(src, { recursive: true }) as string[])
  .map((f) => f.replaceAll('\\', '/'))
  .filter((f) => f.endsWith('.ts') && !f.startsWith('db/migrations/'));

/** Every relative module a file names: static and dynamic imports and re-exports, types included. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) =>
    posix.normalize(posix.join(posix.dirname(file), m[1]!)),
  );
}

test('every folder of src/ has a layer, and every layer folder exists', () => {
  const folders = new Set(files.map(folderOf));
  assert.deepEqual(
    [...folders].filter((f) => !rank.has(f)),
    [],
    'a new folder needs its place in LAYERS',
  );
  assert.deepEqual(
    [...rank.keys()].filter((f) => !folders.has(f)),
    [],
    'LAYERS names a folder that is gone',
  );
});

test('the scan sees imports (so an empty finding below means something)', () => {
  assert.ok(importsOf('app/worker-node.ts').includes('deliveries/worker.ts'));
  assert.ok(importsOf('deliveries/claim.ts').some((t) => t.startsWith('channels/')));
});

test('no import runs up a layer or sideways into another folder of the same layer', () => {
  const wrong: string[] = [];
  for (const file of files) {
    const from = folderOf(file);
    for (const target of importsOf(file)) {
      const to = folderOf(target);
      if (to === from) continue;
      if (rank.get(to)! >= rank.get(from)!) wrong.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('every imported module exists (the scan resolves paths the way Node does)', () => {
  const known = new Set(files);
  const missing = files.flatMap((f) =>
    importsOf(f)
      .filter((t) => t.endsWith('.ts') && !known.has(t) && !t.startsWith('db/migrations/'))
      .map((t) => `${f} → ${t}`),
  );
  assert.deepEqual(missing, []);
});

test("docs/architecture.md's layer table is this one", () => {
  const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
  for (const [folders, job] of LAYERS) {
    const row = `| ${folders.join(', ')} | ${job} |`;
    assert.ok(doc.includes(row), `docs/architecture.md lacks the row ${row}`);
  }
});
