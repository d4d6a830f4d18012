import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Figures } from '../reliability/figures.ts';

/**
 * `npm run test:reliability`: the fault suite (reliability/*.test.ts: SIGKILL, PostgreSQL restart,
 * provider faults, failover between two providers, burst, connection resets and a stalled database, disk full, a callback replay flood). The files run one after another, one process each (they share the
 * machine's two cores and its PostgreSQL); each writes its figures to its own folder under
 * $TMPDIR/lcn-reliability-results, and this script prints them as one table, a failed file's rows
 * marked failed, a skipped test's as a row "skipped: <reason>". `--update-docs` also writes the
 * table into docs/reliability.md, only from a run that passed and measured every scenario of the
 * suite (none skipped, none without figures, every file run).
 *
 *   node scripts/run-reliability.ts [--update-docs] [--report-only] [reliability/burst.test.ts …]
 *
 * RELIABILITY_BURST scales the burst scenario (default 20,000 requests in 10 s).
 *
 * Needs a local PostgreSQL (RELIABILITY_PG_URL, default postgresql://postgres@127.0.0.1:5432/postgres);
 * the restart scenario restarts it with pg_ctlcluster and waits until it answers again.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = process.env['RELIABILITY_RESULTS_DIR'] ?? join(tmpdir(), 'lcn-reliability-results');
const DOC = join(ROOT, 'docs', 'reliability.md');
const START = '<!-- reliability-table:start -->';
const END = '<!-- reliability-table:end -->';
// The restart disturbs everything on the database server: it goes last.
const ORDER = [
  'sigkill',
  'provider-faults',
  'failover',
  'burst',
  'db-link|connection-resets|database-stall',
  'disk-full',
  'replay-flood',
  'pg-restart|postgres-restart',
];

const { values, positionals } = parseArgs({
  options: {
    'update-docs': { type: 'boolean', default: false },
    // Print (and with --update-docs write) the figures of the last run without running anything.
    'report-only': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});

// The whole suite: what --update-docs publishes must cover every file of it.
const SUITE = readdirSync(join(ROOT, 'reliability'))
  .filter((f) => f.endsWith('.test.ts'))
  .sort((a, b) => rank(a) - rank(b))
  .map((f) => join('reliability', f));
const files = positionals.length > 0 ? positionals.map((f) => normalize(f)) : SUITE;

function rank(fileOrScenario: string): number {
  const name = fileOrScenario.split('/').at(-1)!;
  const i = ORDER.findIndex((prefixes) => prefixes.split('|').some((p) => name.startsWith(p)));
  return i === -1 ? ORDER.length : i;
}

/** What a run left behind besides its figures: when it ran, how long, which files failed. */
interface RunRecord {
  finishedAt: string;
  seconds: number;
  files: Array<{ file: string; passed: boolean; seconds: number }>;
}
const RUN_RECORD = join(RESULTS, 'run.json');
const nameOf = (file: string) =>
  file
    .split('/')
    .at(-1)!
    .replace(/\.test\.ts$/, '');
const resultsDirOf = (file: string) => join(RESULTS, nameOf(file));
// Each file's test results in TAP, beside its figures: the one place a skipped test is told apart
// from one that passed (a skipped scenario writes no figures, so its row would just be missing).
const tapOf = (file: string) => join(resultsDirOf(file), 'tests.tap');

/**
 * One file's longest run: its scenarios take 1–8 min on a loaded 2-core machine. Past it the file
 * counts as failed and its whole process group (the test process and every service it started) is
 * killed: a scenario that hangs must fail the suite, not hold CI until CI's own limit.
 */
const FILE_TIMEOUT_MS = Number(process.env['RELIABILITY_FILE_TIMEOUT_MS'] ?? 25 * 60_000);

/**
 * Run one file in a process group of its own. `--test-force-exit`: once its tests are done the file
 * exits even if something (a retry loop of a failed scenario) still holds its event loop.
 */
function runFile(file: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const child = spawn(
    process.execPath,
    [
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tapOf(file)}`,
      '--test-timeout=900000',
      '--test-force-exit',
      file,
    ],
    { stdio: 'inherit', env, cwd: ROOT, detached: true },
  );
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  // Ctrl-C stops the suite, and the file's services with it (they are not in the terminal's group).
  const interrupt = () => {
    killGroup();
    process.exit(130);
  };
  process.once('SIGINT', interrupt);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      console.error(`\nFAILED: ${file} still running after ${FILE_TIMEOUT_MS / 60_000} min: killed`);
      killGroup();
    }, FILE_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', interrupt);
      // Whatever the file left behind (a service a failed scenario did not stop) goes with it.
      killGroup();
      resolve(code === 0);
    });
  });
}

let run: RunRecord | undefined;
if (!values['report-only']) {
  rmSync(RESULTS, { recursive: true, force: true });
  mkdirSync(RESULTS, { recursive: true });
  console.log(`Fault suite: ${files.join(', ')}`);
  const started = Date.now();
  // One process per file, each writing its figures to a folder of its own: a file that fails is
  // known by name, and its rows (or their absence, when it threw first) are reported as failed.
  const outcomes: RunRecord['files'] = [];
  for (const file of files) {
    const env: NodeJS.ProcessEnv = { ...process.env, RELIABILITY_RESULTS_DIR: resultsDirOf(file) };
    delete env['DATABASE_URL'];
    mkdirSync(resultsDirOf(file), { recursive: true });
    const t0 = Date.now();
    const passed = await runFile(file, env);
    outcomes.push({ file, passed, seconds: Math.round((Date.now() - t0) / 1000) });
  }
  run = {
    finishedAt: new Date().toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    files: outcomes,
  };
  writeFileSync(RUN_RECORD, `${JSON.stringify(run, null, 2)}\n`);
} else if (existsSync(RUN_RECORD)) {
  run = JSON.parse(readFileSync(RUN_RECORD, 'utf8')) as RunRecord;
}
if (!run) {
  console.error(`No fault-suite run recorded in ${RESULTS}: run it first`);
  process.exit(1);
}

const FAILED_NOTE = 'the scenario failed (see its test output)';
const EMPTY_FIGURES: Figures = {
  scenario: '',
  engine: '—',
  faults: '—',
  faultsInjected: 0,
  notifications: 0,
  smsCreated: 0,
  arrived: 0,
  duplicated: 0,
  lost: 0,
  failedWithReason: 0,
  arrivedButFailed: 0,
  recoveredByReconciliation: 0,
  seconds: 0,
  smsStatuses: {},
  notes: [],
};
// A scenario whose figures break a promise fails even if its file did not assert it: an SMS that
// reached the phone but is recorded failed tells the user (and the dashboard) something untrue.
const brokenPromise = (f: Figures) => f.lost > 0 || f.duplicated > 0 || (f.arrivedButFailed ?? 0) > 0;

/** The tests a file skipped, from its TAP lines `ok 3 - name # SKIP reason` (TAP escapes `#` as `\#`). */
function skipsOf(file: string): Array<{ test: string; reason: string }> {
  const tap = tapOf(file);
  if (!existsSync(tap)) return [];
  const unescapeTap = (text: string) => text.replace(/\\#/g, '#');
  return readFileSync(tap, 'utf8')
    .split('\n')
    .flatMap((line) => {
      const m = /^\s*ok \d+ - (.*?) # SKIP\b ?(.*)$/.exec(line);
      return m ? [{ test: unescapeTap(m[1]!), reason: unescapeTap(m[2]!) || 'no reason given' }] : [];
    });
}

/**
 * A file's rows: its figures, marked failed when the file failed; a row per skipped test; a
 * placeholder row when it wrote none. `unmeasured` says why a passed file's rows are not the
 * figures of the whole file (what --update-docs must not publish as if they were).
 */
function resultOf(outcome: RunRecord['files'][number]) {
  const dir = resultsDirOf(outcome.file);
  const name = nameOf(outcome.file);
  const written = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Figures)
    : [];
  const passed = outcome.passed && !written.some(brokenPromise);
  if (!passed) {
    const rows =
      written.length > 0
        ? written.map((f) => ({
            ...f,
            scenario: `${f.scenario} **FAILED**`,
            notes: [...f.notes, FAILED_NOTE],
          }))
        : [
            {
              ...EMPTY_FIGURES,
              scenario: `${name} **FAILED**`,
              notes: [`${FAILED_NOTE}; it wrote no figures`],
            },
          ];
    return { passed, rows, unmeasured: [] };
  }
  const skips = skipsOf(outcome.file);
  const skipped = skips.map((s) => ({
    ...EMPTY_FIGURES,
    scenario: `${name} **skipped: ${s.reason}**`,
    notes: [`"${s.test}" was skipped: nothing measured`],
  }));
  const unmeasured = skips.map((s) => `${outcome.file}: "${s.test}" skipped (${s.reason})`);
  if (written.length + skipped.length === 0) {
    return {
      passed,
      rows: [
        {
          ...EMPTY_FIGURES,
          scenario: `${name} **no figures**`,
          notes: ['the file passed but wrote no figures'],
        },
      ],
      unmeasured: [`${outcome.file} passed but wrote no figures`],
    };
  }
  return { passed, rows: [...written, ...skipped], unmeasured };
}
const results = run.files.map((outcome) => ({ file: outcome.file, ...resultOf(outcome) }));
const failedFiles = results.filter((r) => !r.passed);
const rows: Figures[] = results.flatMap((r) => r.rows);
const unmeasured = [
  ...results.flatMap((r) => r.unmeasured),
  ...SUITE.filter((f) => !results.some((r) => r.file === f)).map((f) => `${f} was not run`),
];

function table(figures: Figures[]): string {
  const head = [
    'scenario',
    'engine',
    'faults injected',
    'notifications sent',
    'SMS arrived',
    'duplicated',
    'lost',
    'failed (reason recorded)',
    'arrived but recorded failed',
    'recovered by reconciliation',
    'time (s)',
  ];
  const lines = [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_h, i) => (i < 3 ? '---' : '---:')).join(' | ')} |`,
    ...figures.map(
      (f) =>
        `| ${[
          f.scenario,
          f.engine,
          f.faults,
          f.notifications,
          f.arrived,
          f.duplicated,
          f.lost,
          f.failedWithReason,
          f.arrivedButFailed ?? 0,
          f.recoveredByReconciliation,
          f.seconds,
        ].join(' | ')} |`,
    ),
  ];
  // A row that measured nothing (failed early, skipped) has no statuses to tell.
  const notes = figures.flatMap((f) =>
    [
      ...(Object.keys(f.smsStatuses).length > 0
        ? [`final SMS delivery statuses ${JSON.stringify(f.smsStatuses)}`]
        : []),
      ...f.notes,
    ].map((n) => `- ${f.scenario}: ${n}`),
  );
  return [...lines, '', ...notes].join('\n');
}

const rendered = table(rows.sort((a, b) => rank(a.scenario) - rank(b.scenario)));
const minutes = (run.seconds / 60).toFixed(1);
console.log(
  `\n=== Reliability figures (run finished ${run.finishedAt}, ${minutes} min) ===\n\n${rendered}\n`,
);
for (const f of failedFiles) console.error(`FAILED: ${f.file}`);

if (values['update-docs']) {
  // Figures from a failed run would publish numbers nobody may rely on.
  if (failedFiles.length > 0) {
    console.error('docs/reliability.md NOT updated: the run failed');
    process.exit(1);
  }
  // Nor a table short of a scenario: it would read as the whole suite having held.
  if (unmeasured.length > 0) {
    console.error('docs/reliability.md NOT updated: not every scenario of the suite was measured');
    for (const u of unmeasured) console.error(`  ${u}`);
    process.exit(1);
  }
  const doc = readFileSync(DOC, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from === -1 || to === -1) {
    console.error(`docs/reliability.md has no ${START} … ${END} section`);
    process.exit(1);
  }
  // Stamped with the run's own date and duration, so a --report-only rewrite cannot make old figures look new.
  const stamp = `Measured ${run.finishedAt.slice(0, 10)} by \`npm run test:reliability -- --update-docs\` (the whole suite took ${minutes} min):`;
  writeFileSync(DOC, `${doc.slice(0, from + START.length)}\n${stamp}\n\n${rendered}\n${doc.slice(to)}`);
  console.log('docs/reliability.md updated');
}
process.exit(failedFiles.length > 0 ? 1 : 0);
