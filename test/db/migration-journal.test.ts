import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const DIR = new URL('../../src/db/migrations/', import.meta.url);

interface Journal {
  entries: Array<{ idx: number; when: number; tag: string }>;
}

// drizzle's migrator applies a migration only when its `when` is later than the last one the
// database has: a migration whose time is out of order is skipped on every upgraded database
// (fresh ones apply all, so only an upgrade would show it). Parallel branches each stamp their own.
test('migrations are journaled in order, each later than the one before, one file each', () => {
  const journal = JSON.parse(readFileSync(new URL('meta/_journal.json', DIR), 'utf8')) as Journal;
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.replace(/\.sql$/, ''))
    .sort();
  assert.deepEqual(
    journal.entries.map((e) => e.tag),
    files,
    'every migration file has a journal entry, in order',
  );
  for (let i = 1; i < journal.entries.length; i++) {
    const [before, entry] = [journal.entries[i - 1]!, journal.entries[i]!];
    assert.ok(entry.idx > before.idx, `${entry.tag}: idx after ${before.tag}'s`);
    assert.ok(
      entry.when > before.when,
      `${entry.tag}: "when" ${entry.when} is not after ${before.tag}'s ${before.when}`,
    );
  }
  const snapshots = journal.entries.map(
    (e) =>
      JSON.parse(
        readFileSync(new URL(`meta/${String(e.idx).padStart(4, '0')}_snapshot.json`, DIR), 'utf8'),
      ) as { id: string; prevId: string },
  );
  for (let i = 1; i < snapshots.length; i++) {
    assert.equal(
      snapshots[i]!.prevId,
      snapshots[i - 1]!.id,
      `${journal.entries[i]!.tag}'s snapshot follows the one before`,
    );
  }
});
