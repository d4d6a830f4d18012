import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENGINE, TEST_DATABASE_URL } from '../helpers/test-db.ts';
import { runBenchScript } from './run-bench-script.ts';

// The counts it reports for what every notification writes exactly once are exact.
test('`npm run bench:rows` counts the rows each notification writes on PostgreSQL', {
  skip: ENGINE !== 'postgres',
}, async () => {
  const { code, stdout, stderr } = await runBenchScript([
    'bench/row-writes.ts',
    '--notifications',
    '20',
    '--postgres-url',
    TEST_DATABASE_URL!,
  ]);
  assert.equal(code, 0, stderr);
  // One notification and four deliveries (sms, in_app, and the skipped email and push) each.
  assert.match(stdout, /^\| notifications \| 1\.00 \| 0\.00 \(0\.00\) \| 0\.00 \|$/m);
  assert.match(stdout, /^\| deliveries \| 4\.00 \| /m);
  const total = Number(/\*\*all\*\* \| \| \| \*\*([\d.]+)\*\*/.exec(stdout)?.[1]);
  assert.ok(total >= 9 + 4, `total ${total}: at least the create path and one claim and outcome per channel`);
});
