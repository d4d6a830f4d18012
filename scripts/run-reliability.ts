import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Figures } from '../reliability/figures.ts';

/**
 * `npm run test:reliability`: the fault suite (reliability/*.test.ts: SIGKILL, PostgreSQL restart,
 * provider faults, burst). The files run one after another (they share the machine's two cores and
 * its PostgreSQL); each writes its figures to $TMPDIR/lcn-reliability-results, and this script prints them as
 * one table. `--update-docs` also writes the table into docs/reliability.md.
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
const ORDER = ['sigkill', 'provider-faults', 'burst', 'pg-restart|postgres-restart'];

const { values, positionals } = parseArgs({
  options: {
    'update-docs': { type: 'boolean', default: false },
    // Print (and with --update-docs write) the figures of the last run without running anything.
    'report-only': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});

const files =
  positionals.length > 0
    ? positionals
    : readdirSync(join(ROOT, 'reliability'))
        .filter((f) => f.endsWith('.test.ts'))
        .sort((a, b) => rank(a) - rank(b))
        .map((f) => join('reliability', f));

function rank(fileOrScenario: string): number {
  const name = fileOrScenario.split('/').at(-1)!;
  const i = ORDER.findIndex((prefixes) => prefixes.split('|').some((p) => name.startsWith(p)));
  return i === -1 ? ORDER.length : i;
}

let status = 0;
if (!values['report-only']) {
  rmSync(RESULTS, { recursive: true, force: true });
  const env: NodeJS.ProcessEnv = { ...process.env, RELIABILITY_RESULTS_DIR: RESULTS };
  delete env['DATABASE_URL'];
  console.log(`Fault suite: ${files.join(', ')}`);
  const result = spawnSync(
    process.execPath,
    ['--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=900000', ...files],
    { stdio: 'inherit', env, cwd: ROOT },
  );
  status = result.status ?? 1;
}

const rows: Figures[] = existsSync(RESULTS)
  ? readdirSync(RESULTS)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as Figures)
  : [];

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
          f.recoveredByReconciliation,
          f.seconds,
        ].join(' | ')} |`,
    ),
  ];
  const notes = figures.flatMap((f) =>
    [`final SMS delivery statuses ${JSON.stringify(f.smsStatuses)}`, ...f.notes].map(
      (n) => `- ${f.scenario}: ${n}`,
    ),
  );
  return [...lines, '', ...notes].join('\n');
}

const rendered = table(rows.sort((a, b) => rank(a.scenario) - rank(b.scenario)));
console.log(`\n=== Reliability figures (${new Date().toISOString()}) ===\n\n${rendered}\n`);

if (values['update-docs'] && rows.length > 0) {
  const doc = readFileSync(DOC, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from === -1 || to === -1) {
    console.error(`docs/reliability.md has no ${START} … ${END} section`);
    process.exit(1);
  }
  const stamp = `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run test:reliability -- --update-docs\`:`;
  writeFileSync(DOC, `${doc.slice(0, from + START.length)}\n${stamp}\n\n${rendered}\n${doc.slice(to)}`);
  console.log('docs/reliability.md updated');
}
process.exit(status);
