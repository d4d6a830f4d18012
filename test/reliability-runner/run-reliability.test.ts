import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../process/cli.ts';

/**
 * The fault-suite runner (scripts/run-reliability.ts) must end, whatever a scenario file does: CI
 * once waited 77 minutes on a failed scenario whose retries held its event loop.
 */
const SCENARIO = 'test/reliability-runner/leaks-a-service.scenario.ts';

/** Running, as opposed to gone or a zombie (an orphan's parent here may never reap it). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Resolves once `pid` has stopped running (a SIGKILL is delivered, not awaited, by its sender). */
async function stopped(pid: number): Promise<boolean> {
  for (let i = 0; i < 400 && running(pid); i++) await new Promise((r) => setTimeout(r, 25));
  return !running(pid);
}

async function runSuite(mode: 'leak' | 'hang', fileTimeoutMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'lcn-runner-'));
  const pidFile = join(dir, 'child.pid');
  try {
    // Without NODE_TEST_CONTEXT: it would make the runner's own `node --test` report to this test
    // runner instead of running the file.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const runner = spawn(process.execPath, ['scripts/run-reliability.ts', SCENARIO], {
      cwd: ROOT,
      env: {
        ...env,
        RELIABILITY_RESULTS_DIR: join(dir, 'results'),
        RELIABILITY_FILE_TIMEOUT_MS: String(fileTimeoutMs),
        SCENARIO_MODE: mode,
        SCENARIO_PID_FILE: pidFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    runner.stdout.on('data', (c: Buffer) => {
      output += c;
    });
    runner.stderr.on('data', (c: Buffer) => {
      output += c;
    });
    const code = await new Promise<number | null>((resolve) => runner.once('exit', resolve));
    const child = Number(readFileSync(pidFile, 'utf8'));
    return { code, output, child };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the fault-suite runner', () => {
  test('a file that passed but left a process and a timer behind exits, and the process goes with it', async () => {
    const r = await runSuite('leak', 600_000);
    assert.equal(r.code, 0, r.output);
    assert.ok(await stopped(r.child), 'the leaked process was killed with the file');
  });

  test('a file still running past RELIABILITY_FILE_TIMEOUT_MS fails the suite and its processes are killed', async () => {
    // Long enough for the file to start and write its child's pid on a loaded machine.
    const r = await runSuite('hang', 20_000);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /still running after/);
    assert.match(r.output, /FAILED: test\/reliability-runner\/leaks-a-service\.scenario\.ts/);
    assert.ok(await stopped(r.child), 'the hung file and its process were killed');
  });
});
