import { retentionSettings } from '../../retention/retention-job.ts';
import type { RetentionReport } from '../../retention/run-retention.ts';
import { configOrExit, parseCommand } from '../command.ts';
import { operate, refusedOrThrow } from '../operate.ts';

const HELP = `Usage: laundryconnect-notify retention run [--dry-run] [--days N] [--json]
       laundryconnect-notify retention status [--json]

Deletes what is older than the retention window (docs/retention.md): finished notifications with
their deliveries and history, idempotency keys, inbound SMS, in batches of RETENTION_BATCH_SIZE
with RETENTION_BATCH_PAUSE_MS between them, oldest first. The stats rollup keeps the figures of the
days deleted. Export first if you need the rows (docs/retention.md#exporting-first).

  run             one run now, whatever RETENTION_INTERVAL_MS says (the worker also runs it)
  --dry-run       count what would be deleted, per table, and delete nothing
  --days N        the window for this run (default RETENTION_DAYS; needed when that is 0, i.e. off)
  status          when retention last ran and what it deleted
  --json          the report as JSON

A progress line goes to stderr every few seconds. A run waits for no one: when a worker node's run
holds the lock, this one says so and exits 1. Works while \`serve\` runs: on PostgreSQL it uses the
database; on the embedded database the running process makes the run (asked over
DATA_DIR/run/operator.sock, with this command's window and batch settings; no progress line then),
and it opens DATA_DIR itself when nothing runs there.
Exit codes: 0 done, 1 failed or skipped, 2 usage error.`;

export async function runRetentionCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    console.log(HELP);
    return action ? 0 : 2;
  }
  if (action !== 'run' && action !== 'status') {
    console.error(`Unknown action "${action}"\n\n${HELP}`);
    return 2;
  }
  const parsed = parseCommand(
    rest,
    { 'dry-run': { type: 'boolean' }, days: { type: 'string' }, json: { type: 'boolean' } },
    HELP,
  );
  if ('exitCode' in parsed) return parsed.exitCode;
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const days = v['days'] === undefined ? undefined : Number(v['days']);
  if (days !== undefined && !(Number.isInteger(days) && days >= 3)) {
    console.error(`--days must be a whole number of days, at least 3\n\n${HELP}`);
    return 2;
  }
  const config = configOrExit();
  if (!config) return 1;
  const settings = retentionSettings(config);
  if (days !== undefined) settings.windows = { notifications: days, inboundSms: days };
  if (action === 'run' && Object.values(settings.windows).every((d) => d === 0)) {
    console.error(`Retention is off (RETENTION_DAYS=0): pass --days N, or set RETENTION_DAYS\n\n${HELP}`);
    return 2;
  }
  try {
    if (action === 'status') {
      const { result: last } = await operate(config, 'retention.status', {});
      console.log(
        v['json']
          ? JSON.stringify(last, null, 2)
          : `Last run: started ${last.startedAt ?? 'never'}, finished ${last.finishedAt ?? 'never'}\n${formatCounts(last.deleted ?? {})}`,
      );
      return 0;
    }
    let lastLine = Date.now();
    const { result: report, via } = await operate(
      config,
      'retention.run',
      { ...settings, dryRun: v['dry-run'] === true },
      {
        // A run takes as long as its batches do: the serve answers when it is done.
        timeoutMs: 0,
        onRetentionBatch: ({ target, batches, deleted }) => {
          if (Date.now() - lastLine < 2_000) return;
          lastLine = Date.now();
          const total = Object.values(deleted).reduce((a, b) => a + b, 0);
          console.error(`… ${target}: batch ${batches}, ${total} rows so far`);
        },
      },
    );
    if (via === 'serve') console.error('Run by the running serve (DATA_DIR/run/operator.sock).');
    if (v['json']) console.log(JSON.stringify(report, null, 2));
    else console.log(formatReport(report));
    return report.skipped ? 1 : 0;
  } catch (err) {
    return refusedOrThrow(err);
  }
}

function formatReport(r: RetentionReport): string {
  if (r.skipped === 'locked') return 'Skipped: another node is running retention now.';
  const cutoffs = Object.entries(r.cutoffs).map(
    ([t, at]) => `  ${t}: ${at ? `before ${at}` : 'kept (no window, or nothing sealed in the stats yet)'}`,
  );
  return [
    r.dryRun ? 'Dry run: would delete' : 'Deleted',
    formatCounts(r.deleted),
    `in ${r.batches} batch(es); cutoffs:`,
    ...cutoffs,
  ].join('\n');
}

function formatCounts(counts: Record<string, number>): string {
  const width = Math.max(0, ...Object.keys(counts).map((t) => t.length));
  return Object.entries(counts)
    .map(([t, n]) => `  ${t.padEnd(width)}  ${n}`)
    .join('\n');
}
