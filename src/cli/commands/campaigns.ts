import { readFileSync } from 'node:fs';
import type { CampaignFigures } from '../../campaigns/campaign-figures.ts';
import type { Config } from '../../config.ts';
import { configOrExit, type ParsedValues, parseCommand } from '../command.ts';
import { operate, refusedOrThrow } from '../operate.ts';

const HELP = `Usage: laundryconnect-notify campaigns create FILE.json [--json]
       laundryconnect-notify campaigns estimate ID [--json]
       laundryconnect-notify campaigns start|pause|resume|cancel ID
       laundryconnect-notify campaigns status ID [--watch] [--json]
       laundryconnect-notify campaigns list [--json]

Promotional campaigns (docs/campaigns.md). create stores a campaign from a JSON file (the body of
POST /api/v1/campaigns; the same id and body again answers the first), started at once when it has
a schedule. estimate is the dry run: audience per channel, skips by reason, SMS segments and cost
per country, the SMS budget. status prints the figures with a progress bar; --watch redraws it
every second until the campaign is completed or cancelled.

Works while \`serve\` runs: on the embedded database it asks the running process over
DATA_DIR/run/operator.sock, where a start runs the campaign pass at once.
Exit codes: 0 done, 1 failed or refused (unknown id, wrong state, bad content), 2 usage error.`;

const ACTIONS = new Set(['start', 'pause', 'resume', 'cancel']);

export async function runCampaignsCommand(argv: string[]): Promise<number> {
  const [action, arg, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    console.log(HELP);
    return action ? 0 : 2;
  }
  const parsed = parseCommand(
    action === 'list' && arg !== undefined ? [arg, ...rest] : rest,
    { json: { type: 'boolean' }, watch: { type: 'boolean' } },
    HELP,
  );
  if ('exitCode' in parsed) return parsed.exitCode;
  if (action !== 'list' && (arg === undefined || arg.startsWith('-'))) {
    console.error(
      `campaigns ${action} needs ${action === 'create' ? 'a JSON file' : 'a campaign id'}\n\n${HELP}`,
    );
    return 2;
  }
  const plan = planOf(action, arg ?? '', parsed.values);
  if (typeof plan === 'string') {
    console.error(`${plan}\n\n${HELP}`);
    return 2;
  }
  const config = configOrExit();
  if (!config) return 1;
  try {
    return await plan(config);
  } catch (err) {
    return refusedOrThrow(err);
  }
}

function planOf(
  action: string,
  arg: string,
  v: ParsedValues,
): ((config: Config) => Promise<number>) | string {
  const print = (value: unknown, text: () => string) =>
    console.log(v['json'] ? JSON.stringify(value, null, 2) : text());
  if (action === 'create') {
    let spec: unknown;
    try {
      spec = JSON.parse(readFileSync(arg, 'utf8'));
    } catch (err) {
      return `Cannot read ${arg} as JSON: ${(err as Error).message}`;
    }
    return async (config) => {
      const { result } = await operate(config, 'campaigns.create', { spec });
      print(result, () =>
        [
          `${result.created ? 'Created' : 'Already there (same body)'}: ${result.campaign.id} (${result.campaign.state})`,
          ...result.warnings.map((w) => `warning ${w.code}: ${w.message}`),
        ].join('\n'),
      );
      return 0;
    };
  }
  if (action === 'estimate') {
    return async (config) => {
      const { result: e } = await operate(config, 'campaigns.estimate', { id: arg });
      print(e, () =>
        [
          `Audience: ${e.audience} users${e.unknown_users ? ` (${e.unknown_users} unknown ids)` : ''}`,
          ...Object.entries(e.channels).map(
            ([channel, t]) => `${channel}: ${t.targeted} targeted; skipped ${skips(t.skipped)}`,
          ),
          `SMS: ${e.sms.messages} messages, ${e.sms.segments} segments, ${costs(e.sms.cost)}`,
          ...e.sms.by_country.map(
            (c) =>
              `  ${c.country}: ${c.messages} messages, ${c.segments} segments, ${c.amount} ${c.currency}`,
          ),
          ...e.warnings.map((w) => `warning: ${w}`),
        ].join('\n'),
      );
      return 0;
    };
  }
  if (ACTIONS.has(action)) {
    return async (config) => {
      const { result } = await operate(config, 'campaigns.action', {
        id: arg,
        action: action as 'start' | 'pause' | 'resume' | 'cancel',
      });
      print(result, () => `${result.id}: ${result.state}`);
      return 0;
    };
  }
  if (action === 'status') {
    return async (config) => {
      for (;;) {
        const { result: f } = await operate(config, 'campaigns.status', { id: arg });
        const final = f.state === 'completed' || f.state === 'cancelled';
        if (v['json']) console.log(JSON.stringify(f, null, 2));
        else if (v['watch'] && process.stdout.isTTY)
          process.stdout.write(`\x1b[2J\x1b[H${formatStatus(f)}\n`);
        else console.log(formatStatus(f));
        if (!v['watch'] || final) return 0;
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
  }
  if (action === 'list') {
    return async (config) => {
      const { result } = await operate(config, 'campaigns.list', {});
      print(result, () => result.campaigns.map((c) => `${c.id}\t${c.state}\t${c.name}`).join('\n'));
      return 0;
    };
  }
  return `Unknown action "${action}"`;
}

const skips = (s: Record<string, number>) =>
  Object.entries(s)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ') || 'none';
const costs = (lines: Array<{ currency: string; amount: number }>) =>
  lines.map((c) => `${c.amount} ${c.currency}`).join(' + ') || 'no cost';

/** The figures, with a bar of the targeted messages that are done (sent, delivered, failed, cancelled). */
export function formatStatus(f: CampaignFigures): string {
  const lines = [
    `${f.campaign_id}: ${f.state}${f.expanded ? '' : ' (adding recipients)'}, ${f.recipients} recipients`,
  ];
  for (const [channel, p] of Object.entries(f.progress)) {
    const targeted = f.channels[channel as 'sms' | 'email']?.targeted ?? 0;
    const done = p.sent + p.delivered + p.failed + p.cancelled;
    const width = 30;
    const filled = targeted === 0 ? width : Math.round((done / targeted) * width);
    lines.push(
      `${channel.padEnd(5)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${targeted}` +
        `  queued ${p.queued}, sending ${p.sending}, sent ${p.sent}, delivered ${p.delivered}, failed ${p.failed}, cancelled ${p.cancelled}`,
      `      skipped: ${skips(f.channels[channel as 'sms' | 'email']?.skipped ?? {})}`,
    );
  }
  lines.push(
    `SMS segments ${f.sms.segments}; cost ${costs(f.cost)}; opt-outs ${f.opt_outs}; clicks ${f.clicks}`,
  );
  return lines.join('\n');
}
