import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

/**
 * The queue's SQL lives in src/deliveries/, one file per operation: no other part of the service
 * writes deliveries or their history, or reads them. A new statement elsewhere fails here until it
 * moves into src/deliveries/ (and the caller calls it). Besides that folder only src/db/ (schema,
 * migrations, the maintenance vacuum) may name the tables, and src/stats/ may read them (its
 * reporting aggregates are its own job).
 */

const root = join(import.meta.dirname, '..', '..');
const src = join(root, 'src');

/** Files allowed to hold such SQL anyway, each with its reason. Empty: none is needed today. */
const ALLOWED: Record<string, string> = {};

const TABLES = 'deliveries|delivery_status_history|early_provider_statuses';
const DRIZZLE_TABLES = 'deliveries|deliveryStatusHistory|earlyProviderStatuses';

/** The SQL functions that read or write those tables, as the live schema dump has them. */
function deliveryFunctions(): string[] {
  const schema = readFileSync(join(src, 'db', 'schema.sql'), 'utf8');
  return [...schema.matchAll(/CREATE OR REPLACE FUNCTION public\.(\w+)\([\s\S]*?end \$function\$;/g)]
    .filter((m) => new RegExp(`\\b(${TABLES})\\b`).test(m[0]))
    .map((m) => m[1]!);
}

const WRITES = [
  new RegExp(`\\b(update|insert\\s+into|delete\\s+from)\\s+(${TABLES})\\b`, 'i'),
  // The history tables are written only, or read beside their delivery: their name is enough.
  /\b(delivery_status_history|early_provider_statuses)\b/i,
  new RegExp(`\\.(update|insert|delete)\\((schema\\.)?(${DRIZZLE_TABLES})\\)`),
  new RegExp(`\\b(${deliveryFunctions().join('|')})\\(`),
];
const READS = [
  new RegExp(`\\b(from|join)\\s+(${TABLES})\\b`, 'i'),
  new RegExp(`\\.(from|innerJoin|leftJoin|rightJoin|fullJoin)\\((schema\\.)?(${DRIZZLE_TABLES})\\b`),
];

const files = (readdirSync(src, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => relative(root, join(src, f)).replaceAll('\\', '/'));

function matching(patterns: readonly RegExp[], owners: readonly string[]): string[] {
  return files
    .filter((f) => !owners.some((dir) => f.startsWith(dir)) && !Object.hasOwn(ALLOWED, f))
    .flatMap((f) => {
      const text = readFileSync(join(root, f), 'utf8');
      return patterns.filter((re) => re.test(text)).map((re) => `${f}: ${re}`);
    });
}

test('the scan sees the statements where they live (so an empty finding below means something)', () => {
  assert.ok(deliveryFunctions().includes('lc_complete_deliveries'));
  for (const re of [...WRITES, ...READS]) {
    const owners = files.filter(
      (f) => f.startsWith('src/deliveries/') && re.test(readFileSync(join(root, f), 'utf8')),
    );
    assert.notDeepEqual(owners, [], `${re} finds nothing in src/deliveries/`);
  }
});

test('only src/deliveries/ (and src/db/) writes deliveries or their history', () => {
  assert.deepEqual(matching(WRITES, ['src/deliveries/', 'src/db/']), []);
});

test('only src/deliveries/ (and src/db/, src/stats/ for its aggregates) reads deliveries', () => {
  assert.deepEqual(matching(READS, ['src/deliveries/', 'src/db/', 'src/stats/']), []);
});

test('every allow-list entry is still needed and says why', () => {
  for (const [f, why] of Object.entries(ALLOWED)) {
    assert.ok(why.length > 20, `${f}: say why it may hold delivery SQL`);
    const text = readFileSync(join(root, f), 'utf8');
    assert.ok(
      [...WRITES, ...READS].some((re) => re.test(text)),
      `${f} holds no delivery SQL: drop it from ALLOWED`,
    );
  }
});

test("docs/architecture.md's table names every file of src/deliveries/ that holds delivery SQL", () => {
  const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
  const unlisted = files
    .filter((f) => f.startsWith('src/deliveries/'))
    .filter((f) => [...WRITES, ...READS].some((re) => re.test(readFileSync(join(root, f), 'utf8'))))
    .filter((f) => !doc.includes(`| \`${f.slice('src/deliveries/'.length)}\` |`));
  assert.deepEqual(unlisted, []);
});
