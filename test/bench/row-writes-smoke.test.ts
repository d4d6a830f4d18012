import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ENGINE, TEST_DATABASE_URL } from '../helpers/test-db.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// The counts it reports for what every notification writes exactly once are exact.
test('`npm run bench:rows` counts the rows each notification writes on PostgreSQL', {
  skip: ENGINE !== 'postgres',
}, async () => {
  const child = spawn(
    process.execPath,
    ['bench/row-writes.ts', '--notifications', '20', '--postgres-url', TEST_DATABASE_URL!],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c;
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, stderr);
  // One notification and four deliveries (sms, in_app, and the skipped email and push) each.
  assert.match(stdout, /^\| notifications \| 1\.00 \| 0\.00 \(0\.00\) \| 0\.00 \|$/m);
  assert.match(stdout, /^\| deliveries \| 4\.00 \| /m);
  const total = Number(/\*\*all\*\* \| \| \| \*\*([\d.]+)\*\*/.exec(stdout)?.[1]);
  assert.ok(total >= 9 + 4, `total ${total}: at least the create path and one claim and outcome per channel`);
});
