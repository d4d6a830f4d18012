import { formatLintReport, type LintRow } from '../../authoring/lint.ts';
import { checkTemplateSets, TemplateLoadError } from '../../authoring/load-templates.ts';
import { getNotificationType } from '../../catalog/catalog.ts';
import type { Config } from '../../config.ts';
import { loadTemplateFiles, type TemplateSet } from '../../templates/template-files.ts';
import { configOrExit, parseCommand } from '../command.ts';
import { operate, refusedOrThrow } from '../operate.ts';

const LOAD_HELP = `Usage: laundryconnect-notify load-notification-templates [options]

Load the template files (templates/<locale>/<type>.json) into the database, where the service reads
them (an active database version wins over the file). Safe to run repeatedly: a template equal to
its active version is left alone, a new one becomes version 1, a changed one becomes the next
version and the only active one; older versions are kept. Every template is parsed and every SMS
text linted first: a template that does not parse stops the load and nothing is written.
A \`serve\` running on the embedded database is asked to load them (over DATA_DIR/run/operator.sock)
and uses them at once; other running services read templates at start-up: restart them.

Options:
  --dir <path>     load from this folder instead of the shipped templates/
  --strict         exit 1 when the SMS lint reports warnings (they never stop the load)
  --check <type>   only report whether <type> has active templates in the database (exit 0 yes, 1 no)
  -h, --help       show this help

Database: DATABASE_URL (PostgreSQL) or the embedded database in DATA_DIR; migrated first.`;

const LINT_HELP = `Usage: laundryconnect-notify lint-templates [options]

Lint the SMS text of every template file, without a database: renders it with its notification
type's sample context and reports encoding (GSM-7 or UCS-2, naming the characters that force UCS-2),
characters, segments, sensitive data, a missing "LaundryConnect:" prefix and DLT mismatches.

Options:
  --dir <path>   lint this folder instead of the shipped templates/
  --strict       exit 1 when there are warnings
  -h, --help     show this help`;

function readSets(dir: string | undefined): TemplateSet[] | undefined {
  try {
    return loadTemplateFiles(dir);
  } catch (err) {
    console.error(`Error: ${(err as Error).message}`);
    return undefined;
  }
}

function lintExitCode(lint: LintRow[], strict: boolean): number {
  const warned = lint.some((row) => row.report.warnings.length > 0);
  if (strict && warned) {
    console.error('Error: SMS lint warnings with --strict');
    return 1;
  }
  return 0;
}

/** A bar redrawn on a terminal; a single count line when stderr is a file or pipe. */
function progressReporter(): { update(done: number, total: number): void; end(): void } {
  if (!process.stderr.isTTY) {
    return { update: () => {}, end: () => {} };
  }
  const width = 30;
  let drawn = false;
  return {
    update(done, total) {
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(
        `\rLoading templates [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`,
      );
      drawn = true;
    },
    end() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

export async function runLoadTemplatesCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    argv,
    { dir: { type: 'string' }, strict: { type: 'boolean' }, check: { type: 'string' } },
    LOAD_HELP,
  );
  if ('exitCode' in parsed) return parsed.exitCode;
  const { dir, strict, check } = parsed.values as { dir?: string; strict?: boolean; check?: string };
  if (check !== undefined && !getNotificationType(check)) {
    console.error(`Error: Unknown notification type "${check}"`);
    return 1;
  }
  const sets = check === undefined ? readSets(dir) : [];
  if (!sets) return 1;
  if (check === undefined) {
    // Checked before the database is opened, so a broken file fails fast; the load checks again.
    try {
      await checkTemplateSets(sets);
    } catch (err) {
      if (!(err instanceof TemplateLoadError)) throw err;
      console.error(`Error: ${err.message}. Nothing was loaded.`);
      return 1;
    }
  }
  const config = configOrExit();
  if (!config) return 1;
  try {
    if (check !== undefined) return await printCheck(config, check);
    console.error(`Loading ${sets.length} template file(s)`);
    const progress = progressReporter();
    const { result: summary } = await operate(
      config,
      'templates.load',
      { sets },
      { onProgress: (done, total) => progress.update(done, total) },
    );
    progress.end();
    console.log(
      `Templates: ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged`,
    );
    if (summary.inUse) console.error('Loaded by the running serve, which uses them now');
    else console.error('Running services read templates at start-up: restart them to use the new versions');
    console.log('');
    console.log(formatLintReport(summary.lint));
    return lintExitCode(summary.lint, strict === true);
  } catch (err) {
    return refusedOrThrow(err);
  }
}

async function printCheck(config: Config, type: string): Promise<number> {
  const { rows } = (await operate(config, 'templates.check', { type })).result;
  if (rows.length === 0) {
    console.log(`✗ No active template for ${type} (run load-notification-templates)`);
    return 1;
  }
  const locales = [...new Set(rows.map((r) => r.locale))];
  const versions = locales.map((locale) => {
    const mine = rows.filter((r) => r.locale === locale);
    return `${locale} (${mine.length} fields, v${Math.max(...mine.map((r) => r.version))})`;
  });
  console.log(`✓ ${type} has active templates: ${versions.join(', ')}`);
  return 0;
}

export async function runLintTemplatesCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, { dir: { type: 'string' }, strict: { type: 'boolean' } }, LINT_HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { dir, strict } = parsed.values as { dir?: string; strict?: boolean };
  const sets = readSets(dir);
  if (!sets) return 1;
  let lint: LintRow[];
  try {
    lint = await checkTemplateSets(sets);
  } catch (err) {
    if (!(err instanceof TemplateLoadError)) throw err;
    console.error(`Error: ${err.message}`);
    return 1;
  }
  console.log(formatLintReport(lint));
  return lintExitCode(lint, strict === true);
}
