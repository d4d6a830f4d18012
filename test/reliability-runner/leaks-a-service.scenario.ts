// A fault-suite file that passes but leaves a process and a timer behind, as a scenario whose
// cleanup failed would (used by run-reliability.test.ts; not a test of its own).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';

test(`leaves a child running (${process.env['SCENARIO_MODE']})`, async () => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  writeFileSync(process.env['SCENARIO_PID_FILE']!, String(child.pid));
  setInterval(() => {}, 1000);
  // "hang": the test itself never ends, as a scenario waiting on a service that never answers.
  if (process.env['SCENARIO_MODE'] === 'hang') await new Promise(() => {});
});
