import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { DELIVERY_STATUSES } from '../../src/db/schema.ts';
import { TRANSITIONS, WRITE_PATHS, type WritePath } from '../../src/deliveries/state-machine.ts';

/**
 * No status is written around the state machine: the files that write deliveries or their
 * history are the known write paths, none of them spells a status it writes (they take it from
 * the table), and every SQL function that writes deliveries is a write path of the table that
 * takes the table as `p_machine`. A new write path fails here until it goes through the table.
 */

const root = join(import.meta.dirname, '..', '..');
const src = join(root, 'src');
const S = DELIVERY_STATUSES.join('|');

/** Each file holding a write path, and the write paths (TS functions or SQL callers) it holds. */
const WRITE_FILES: Record<string, readonly WritePath[]> = {
  'src/deliveries/claim.ts': ['lc_claim_deliveries'],
  'src/deliveries/complete.ts': ['lc_complete_deliveries'],
  'src/deliveries/reap.ts': ['reapExpiredLeases'],
  // Touches updated_at only (the sweep's bookmark): writes deliveries, no status.
  'src/deliveries/take-stale-sent.ts': [],
  // A campaign's pause and resume move due times only (held rows stay queued): no status.
  'src/deliveries/campaign-deliveries.ts': [],
  'src/deliveries/apply-provider-statuses.ts': ['lc_apply_provider_statuses'],
  'src/deliveries/enqueue.ts': ['lc_insert_notifications'],
  'src/deliveries/skip-for-user.ts': ['skipQueuedSmsForUser'],
  'src/deliveries/digest-merge.ts': ['mergeUserDigest'],
  'src/deliveries/resend.ts': ['resendFailedDelivery'],
  'src/deliveries/supersede-deliveries.ts': ['supersedeDeliveries'],
  'src/deliveries/cancel-deliveries.ts': ['cancelDeliveries'],
  'src/deliveries/fallback-deliveries.ts': ['createFallbackDeliveries'],
};

const WRITES =
  /update\s+deliveries\b|insert\s+into\s+deliveries\b|\.(update|insert)\(deliveries\)|insert\s+into\s+delivery_status_history/i;
/** A status spelled where it is written: `set status = 'x'`, `then 'x'`, `.set({ status: 'x' })`, `'x', 'y'` (history). */
const LITERAL_WRITES = [
  /set\s+status\s*=\s*'/i,
  new RegExp(`(then|else)\\s+'(${S})'`, 'i'),
  /\.set\(\{[^}]*\bstatus:\s*'/s,
  // A history row's from/to spelled out (not a list read: `status in ('sent', 'delivered')`).
  new RegExp(`(?<!\\(\\s*)'(${S})',\\s*'(${S})'`),
];

/** A call of an SQL function that writes statuses. */
const CALLS = new RegExp(`(from|select)\\s+(${WRITE_PATHS.filter((p) => p.startsWith('lc_')).join('|')})\\(`);

const tsFiles = (readdirSync(src, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.ts'))
  .map((f) => relative(root, join(src, f)));

test('only the known write paths write deliveries or their history', () => {
  const writers = tsFiles.filter((f) => {
    const text = readFileSync(join(root, f), 'utf8');
    return WRITES.test(text) || CALLS.test(text);
  });
  assert.deepEqual(writers.sort(), Object.keys(WRITE_FILES).sort());
});

test('every write path of the table has its file, and every file a write path of the table', () => {
  const held = new Set(Object.values(WRITE_FILES).flat());
  assert.deepEqual(
    [...WRITE_PATHS].filter((p) => !held.has(p)),
    [],
  );
  const fired = new Set(Object.values(TRANSITIONS).map((t) => t.by));
  assert.deepEqual(
    [...held].filter((p) => !fired.has(p)),
    [],
  );
});

test('no write path spells the status it writes (the state machine gives it)', () => {
  const found = Object.keys(WRITE_FILES).flatMap((f) => {
    const text = readFileSync(join(root, f), 'utf8');
    return LITERAL_WRITES.filter((re) => re.test(text)).map((re) => `${f}: ${re}`);
  });
  assert.deepEqual(found, []);
});

test('every SQL function that writes deliveries is a write path taking the table (p_machine)', () => {
  const schema = readFileSync(join(src, 'db', 'schema.sql'), 'utf8');
  const functions = [
    ...schema.matchAll(/CREATE OR REPLACE FUNCTION public\.(\w+)\(([^)]*)\)[\s\S]*?end \$function\$;/g),
  ];
  const writers = functions.filter((m) => WRITES.test(m[0]));
  const paths: readonly string[] = WRITE_PATHS;
  assert.deepEqual(
    writers.map((m) => m[1]).filter((name) => !paths.includes(name!)),
    [],
    'a function writes deliveries but is no write path of the state machine',
  );
  for (const [body, name, args] of writers) {
    if (name === 'lc_claim_deliveries') {
      // The one write path that spells its statuses, on purpose: `status = 'queued'` must be a
      // literal for the planner to use the partial due index (deliveries_due_idx … where status =
      // 'queued'); a parameter from p_machine would turn the hot claim into a scan. So the literals
      // are checked against the table instead.
      assert.match(body, new RegExp(`d\\.status = '${TRANSITIONS.claim.from[0]}'`));
      assert.match(body, new RegExp(`set status = '${TRANSITIONS.claim.to}'`));
      assert.match(
        body,
        new RegExp(`'${TRANSITIONS.claim.from[0]}', '${TRANSITIONS.claim.to}'`),
        'its history row',
      );
      continue;
    }
    assert.match(args!, /p_machine jsonb/, `${name} takes the table`);
    for (const re of LITERAL_WRITES) assert.doesNotMatch(body, re, `${name} spells a status it writes`);
  }
});
