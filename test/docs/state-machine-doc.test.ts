import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ARCHITECTURE_DOC, architectureDoc } from '../../scripts/state-machine-doc.ts';

test("docs/architecture.md's state machine is the transition table", () => {
  const doc = readFileSync(ARCHITECTURE_DOC, 'utf8');
  assert.equal(doc, architectureDoc(doc), 'run `node scripts/state-machine-doc.ts`');
});
