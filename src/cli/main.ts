import { runSandboxCommand } from '../sandbox/cli.ts';
import type { Command } from './command.ts';
import { runCampaignsCommand } from './commands/campaigns.ts';
import { runKeysCommand } from './commands/keys.ts';
import { runMigrateCommand } from './commands/migrate.ts';
import { runRetentionCommand } from './commands/retention.ts';
import { runServeCommand } from './commands/serve.ts';
import { runSmsCommand } from './commands/sms-status.ts';
import { runStatsCommand } from './commands/stats.ts';
import { runTemplatesCommand } from './commands/template-variants.ts';
import { runLintTemplatesCommand, runLoadTemplatesCommand } from './commands/templates.ts';
import { runTestSmsCommand } from './commands/test-sms.ts';

/**
 * `laundryconnect-notify <command>`: one table of commands, each in its own file with its own
 * `--help`. Exit codes: 0 success, 1 failure, 2 usage error.
 */
const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'Run the API and the delivery worker in one process (the default of npm start)',
    run: (argv) => runServeCommand(argv, { api: true, worker: true }),
  },
  api: {
    summary: 'Run the API only (scale-out on PostgreSQL; pair with worker processes)',
    run: (argv) => runServeCommand(argv, { api: true, worker: false }),
  },
  worker: {
    summary: 'Run the delivery worker only (scale-out on PostgreSQL)',
    run: (argv) => runServeCommand(argv, { api: false, worker: true }),
  },
  migrate: { summary: 'Apply database migrations and exit', run: runMigrateCommand },
  keys: {
    summary: 'API keys: `keys list`, `keys create --name N --role R`, `keys revoke ID`, `keys rotate ID`',
    run: runKeysCommand,
  },
  'test-sms': {
    summary: 'Check the SMS configuration or send a test SMS (--check-config, --phone, --user-email)',
    run: runTestSmsCommand,
  },
  sms: {
    summary: 'SMS tools: `sms status <sid>` prints a message status from Twilio or a sandbox',
    run: runSmsCommand,
  },
  stats: {
    summary: 'Delivery stats: `stats --today` prints "SMS sent today: N", then channels, cost, failures',
    run: runStatsCommand,
  },
  campaigns: {
    summary: 'Campaigns: `campaigns create FILE`, `estimate|start|pause|resume|cancel|status ID`, `list`',
    run: runCampaignsCommand,
  },
  retention: {
    summary: 'Delete old, finished data: `retention run [--dry-run]`, `retention status` (docs/retention.md)',
    run: runRetentionCommand,
  },
  sandbox: {
    summary: 'Run the Twilio-compatible SMS sandbox alone (development, tests, benchmarks)',
    run: runSandboxCommand,
  },
  'load-notification-templates': {
    summary: 'Load template files into the database (versioned, idempotent) and lint the SMS texts',
    run: runLoadTemplatesCommand,
  },
  templates: {
    summary: 'A/B tests of a template: `templates variants show|start|weights|promote|stop --type T`',
    run: runTemplatesCommand,
  },
  'lint-templates': {
    summary: 'Lint the SMS templates: encoding, segments, sensitive data, DLT (no database)',
    run: runLintTemplatesCommand,
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: laundryconnect-notify <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `laundryconnect-notify <command> --help` for the options of a command.',
    'Configuration comes from the environment and .env (see docs/configuration.md).',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}
