import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENGINE } from '../helpers/test-db.ts';
import { runBenchScript } from './run-bench-script.ts';

// The figures docs/sms.md quotes come from this script: a short run must count exactly (the
// clock is stepped, so the reads all land before the deadline and every count is fixed).
test('bench/escalation-savings.ts: half read in time → half the SMS, and their cost, saved', {
  skip: ENGINE !== 'pglite',
}, async () => {
  const { code, stdout, stderr } = await runBenchScript(
    ['bench/escalation-savings.ts', '--notifications', '10', '--read-share', '0.5'],
    { ...process.env, DATABASE_URL: '' },
  );
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assert.match(stdout, /^\| without escalation \(every user's SMS\) \| 10 \| 0\.8320 USD \|$/m);
  assert.match(stdout, /^\| with escalation: sent \(sandbox received 5\) \| 5 \| 0\.4160 USD \|$/m);
  assert.match(stdout, /^\| with escalation: skipped `read_in_app` \| 5 \| 0\.0000 USD \|$/m);
  assert.match(stdout, /^\| \*\*saved\*\* \| \*\*5\*\* \(50 %\) \| \*\*0\.4160 USD\*\* \|$/m);
});
