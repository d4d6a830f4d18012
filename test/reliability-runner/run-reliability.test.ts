import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** Run the fault-suite runner `script` with `args` in `cwd`; resolves with its exit code and output. */
async function runRunner(script: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  // Without NODE_TEST_CONTEXT: it would make the runner's own `node --test` report to this test
  // runner instead of running the file.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const runner = spawn(process.execPath, [script, ...args], {
    cwd,
    env: { ...inherited, ...env },
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
  return { code, output };
}

async function runSuite(mode: 'leak' | 'hang', fileTimeoutMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'lcn-runner-'));
  const pidFile = join(dir, 'child.pid');
  try {
    const r = await runRunner(join(ROOT, 'scripts/run-reliability.ts'), [SCENARIO], ROOT, {
      RELIABILITY_RESULTS_DIR: join(dir, 'results'),
      RELIABILITY_FILE_TIMEOUT_MS: String(fileTimeoutMs),
      SCENARIO_MODE: mode,
      SCENARIO_PID_FILE: pidFile,
    });
    return { ...r, child: Number(readFileSync(pidFile, 'utf8')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const DOC =
  '# Reliability\n\n<!-- reliability-table:start -->\nthe last published table\n<!-- reliability-table:end -->\n';

/**
 * The runner on a suite of its own: a copy of the script in a scratch tree whose reliability/ holds
 * one file per name in `suite` (each runs the writes-figures fixture as SCENARIO_MODE says) and
 * whose docs/reliability.md is DOC, so --update-docs can never write the real one. Resolves with
 * the runner's exit code and output and the doc as the run left it.
 */
async function runOwnSuite(mode: 'pass' | 'throw' | 'skip' | 'silent', args: string[], suite = ['fixture']) {
  const dir = mkdtempSync(join(tmpdir(), 'lcn-runner-suite-'));
  try {
    for (const sub of ['scripts', 'reliability', 'docs']) mkdirSync(join(dir, sub));
    copyFileSync(join(ROOT, 'scripts/run-reliability.ts'), join(dir, 'scripts/run-reliability.ts'));
    const fixture = join(ROOT, 'test/reliability-runner/writes-figures.scenario.ts');
    for (const name of suite) {
      writeFileSync(join(dir, 'reliability', `${name}.test.ts`), `import ${JSON.stringify(fixture)};\n`);
    }
    writeFileSync(join(dir, 'docs/reliability.md'), DOC);
    const r = await runRunner('scripts/run-reliability.ts', args, dir, {
      RELIABILITY_RESULTS_DIR: join(dir, 'results'),
      SCENARIO_MODE: mode,
    });
    return { ...r, doc: readFileSync(join(dir, 'docs/reliability.md'), 'utf8') };
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
  test('a scenario file that throws is a FAILED row of the table, not a missing row', async () => {
    const r = await runOwnSuite('throw', []);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /^\| fixture \*\*FAILED\*\* \|/m, r.output);
    assert.match(r.output, /FAILED: reliability\/fixture\.test\.ts/);
  });

  test('--update-docs writes the table of a clean run of the whole suite into the doc', async () => {
    const r = await runOwnSuite('pass', ['--update-docs']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.doc, /^Measured \d{4}-\d\d-\d\d by .*the whole suite took [\d.]+ min/m);
    assert.match(r.doc, /^\| fixture \| PGlite \| none \| 3 \| 3 \| 0 \| 0 \| 0 \| 0 \| 0 \| 1 \|$/m);
    assert.doesNotMatch(r.doc, /the last published table/);
  });

  test('--update-docs refuses to write the figures of a failed run: the doc is unchanged', async () => {
    const r = await runOwnSuite('throw', ['--update-docs']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /docs\/reliability\.md NOT updated: the run failed/);
    assert.equal(r.doc, DOC);
  });

  test('a skipped scenario is a row "skipped: <reason>", and --update-docs refuses a table with it', async () => {
    const shown = await runOwnSuite('skip', []);
    // A skip is no failure (disk-full skips without root), but it must show.
    assert.equal(shown.code, 0, shown.output);
    assert.match(shown.output, /^\| fixture \*\*skipped: needs a tmpfs mount \(root on Linux\)\*\* \|/m);
    const r = await runOwnSuite('skip', ['--update-docs']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /NOT updated: not every scenario of the suite was measured/);
    assert.match(r.output, /fixture\.test\.ts: "a scenario \(skip\)" skipped \(needs a tmpfs mount/);
    assert.equal(r.doc, DOC);
  });

  test('--update-docs refuses a table missing a scenario: a file without figures, or one not run', async () => {
    const silent = await runOwnSuite('silent', ['--update-docs']);
    assert.equal(silent.code, 1, silent.output);
    assert.match(silent.output, /^\| fixture \*\*no figures\*\* \|/m);
    assert.match(silent.output, /reliability\/fixture\.test\.ts passed but wrote no figures/);
    assert.equal(silent.doc, DOC);
    const partial = await runOwnSuite(
      'pass',
      ['--update-docs', 'reliability/fixture.test.ts'],
      ['fixture', 'other'],
    );
    assert.equal(partial.code, 1, partial.output);
    assert.match(partial.output, /reliability\/other\.test\.ts was not run/);
    assert.equal(partial.doc, DOC);
  });
});
