// A fault-suite file that ends as SCENARIO_MODE says: "pass" writes a clean figures row, "throw"
// throws before writing any, "skip" skips itself as disk-full does without root, "silent" passes
// without writing figures (used by run-reliability.test.ts; not a test of its own).
import { test } from 'node:test';
import { writeFigures } from '../../reliability/figures.ts';

const mode = process.env['SCENARIO_MODE'];

test(`a scenario (${mode})`, (t) => {
  if (mode === 'skip') return t.skip('needs a tmpfs mount (root on Linux)');
  if (mode === 'throw') throw new Error('the sandbox never answered');
  if (mode === 'silent') return;
  writeFigures({
    scenario: 'fixture',
    engine: 'PGlite',
    faults: 'none',
    faultsInjected: 0,
    notifications: 3,
    smsCreated: 3,
    arrived: 3,
    duplicated: 0,
    lost: 0,
    failedWithReason: 0,
    arrivedButFailed: 0,
    recoveredByReconciliation: 0,
    seconds: 1,
    smsStatuses: { delivered: 3 },
    notes: [],
  });
});
