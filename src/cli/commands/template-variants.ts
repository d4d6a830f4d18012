import { readFileSync } from 'node:fs';
import type { VariantReport } from '../../stats/variant-figures.ts';
import { configOrExit, parseCommand } from '../command.ts';
import { operate, refusedOrThrow } from '../operate.ts';

const HELP = `Usage: laundryconnect-notify templates variants <action> --type <type> [options]

A/B tests of a template (docs/templates.md#ab-variants), as the admin API runs them.

  show                      the running test (else the latest): per-variant figures and confidence
  start --file <path>       start one: the file is a JSON array of variants, e.g.
                            [{"label":"A","weight":50,"fields":{}},
                             {"label":"B","weight":50,"fields":{"sms":"LaundryConnect: …"}}]
        [--metric delivered|replies]   what the confidence is judged on (default delivered)
  weights --set A=70,B=30   new weights (users are split again)
  promote --variant <label> make it the only active version; refused below
        [--force]           TEMPLATE_VARIANT_CONFIDENCE unless --force (audited as forced)
  stop                      end the test without promoting

Options:
  --type <type>        the notification type (required)
  --locale <locale>    en, hi or ta (default en)
  --channel <channel>  sms (default; the one channel tests run on)
  --json               print the answer as JSON
  -h, --help           show this help

A \`serve\` running on the embedded database runs it (over DATA_DIR/run/operator.sock) and uses
the variants at once; other running services read templates at start-up: restart them.
Exit codes: 0 done, 1 refused or failed, 2 usage error.`;

const ACTIONS = ['show', 'start', 'weights', 'promote', 'stop'] as const;
type Action = (typeof ACTIONS)[number];

function usageError(message: string): number {
  console.error(`${message}\n\n${HELP}`);
  return 2;
}

/** `A=70,B=30` → `{A: 70, B: 30}`, or undefined when it is not that. */
function parseWeights(text: string): Record<string, number> | undefined {
  const pairs = text.split(',').map((p) => p.trim().split('='));
  if (pairs.some((p) => p.length !== 2 || !/^\d+$/.test(p[1]!))) return undefined;
  return Object.fromEntries(pairs.map(([label, weight]) => [label!, Number(weight)]));
}

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(1)}%`);

/** One line per variant, then the verdicts. */
export function formatVariantReport(r: VariantReport): string {
  const header = `${r.type} ${r.channel} ${r.locale}: test ${r.group_id}, ${r.status}${r.promoted_variant ? ` (promoted ${r.promoted_variant})` : ''}, metric ${r.metric}, needs ${r.required_confidence}`;
  const rows = r.variants.map((v) => {
    const cost = Object.entries(v.cost)
      .map(([currency, amount]) => `${amount} ${currency}`)
      .join(' + ');
    const verdict = v.verdict
      ? `vs ${v.verdict.rival}: p=${v.verdict.p_value.toFixed(4)} confidence ${v.verdict.confidence.toFixed(4)}`
      : '';
    return `  ${v.label.padEnd(6)} weight ${String(v.weight).padStart(5)}  sent ${v.sent}  delivered ${percent(v.delivered_rate)}  replies ${v.replies} (${percent(v.reply_rate)})  opt-outs ${v.opt_outs}  segments ${v.segments}  cost ${cost || '0'}  clicks ${v.clicks}  ${verdict}`;
  });
  return [header, ...rows].join('\n');
}

export async function runTemplatesCommand(argv: string[]): Promise<number> {
  const [group, action, ...rest] = argv;
  if (group === undefined || group === '--help' || group === '-h') {
    console.log(HELP);
    return group ? 0 : 2;
  }
  if (group !== 'variants') return usageError(`Unknown templates command "${group}"`);
  if (!(ACTIONS as readonly string[]).includes(action ?? '')) {
    return usageError(`Unknown action "${action ?? ''}"`);
  }
  const parsed = parseCommand(
    rest,
    {
      type: { type: 'string' },
      locale: { type: 'string' },
      channel: { type: 'string' },
      file: { type: 'string' },
      metric: { type: 'string' },
      set: { type: 'string' },
      variant: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  if ('exitCode' in parsed) return parsed.exitCode;
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (typeof v['type'] !== 'string') return usageError('--type is required');
  const k = {
    type: v['type'],
    locale: (v['locale'] ?? 'en') as 'en',
    channel: (v['channel'] ?? 'sms') as 'sms',
  };
  const config = configOrExit();
  if (!config) return 1;
  try {
    const answer = await run(config, action as Action, k, v);
    if (typeof answer === 'number') return answer;
    console.log(v['json'] ? JSON.stringify(answer, null, 2) : describe(answer));
    return 0;
  } catch (err) {
    return refusedOrThrow(err);
  }
}

type Key = { type: string; locale: 'en'; channel: 'sms' };
type Answer =
  | VariantReport
  | { groupId: number; inUse: boolean }
  | { report: VariantReport; version: number | null; forced: boolean };

function describe(answer: Answer): string {
  if ('group_id' in answer) return formatVariantReport(answer);
  if ('groupId' in answer) {
    return `Started A/B test ${answer.groupId}${answer.inUse ? ' (the running serve uses it now)' : '; restart running services to use it'}`;
  }
  return `Promoted ${answer.report.promoted_variant}: now version ${answer.version}${answer.forced ? ' (forced: below the required confidence, audited)' : ''}\n${formatVariantReport(answer.report)}`;
}

async function run(
  config: NonNullable<ReturnType<typeof configOrExit>>,
  action: Action,
  k: Key,
  v: Record<string, string | boolean | undefined>,
): Promise<Answer | number> {
  switch (action) {
    case 'show':
      return (await operate(config, 'variants.show', k)).result;
    case 'stop':
      return (await operate(config, 'variants.stop', k)).result;
    case 'weights': {
      const weights = typeof v['set'] === 'string' ? parseWeights(v['set']) : undefined;
      if (!weights) return usageError('--set A=70,B=30 is required');
      return (await operate(config, 'variants.weights', { ...k, weights })).result;
    }
    case 'promote': {
      if (typeof v['variant'] !== 'string') return usageError('--variant <label> is required');
      const input = { ...k, label: v['variant'], force: v['force'] === true };
      return (await operate(config, 'variants.promote', input)).result;
    }
    case 'start': {
      if (typeof v['file'] !== 'string') return usageError('--file <path> is required');
      let variants: unknown;
      try {
        variants = JSON.parse(readFileSync(v['file'], 'utf8'));
      } catch (err) {
        console.error(`Error: cannot read ${v['file']}: ${(err as Error).message}`);
        return 1;
      }
      const metric = (v['metric'] ?? 'delivered') as 'delivered';
      const { groupId, inUse } = (
        await operate(config, 'variants.start', { ...k, metric, variants: variants as [] })
      ).result;
      return { groupId, inUse };
    }
  }
}
