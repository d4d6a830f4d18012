import { existsSync } from 'node:fs';
import type { DeliveryStats } from '../../stats/delivery-stats.ts';
import { type StatsQuery, StatsWindowError, statsQuery, windowFromQuery } from '../../stats/stats-window.ts';
import { configOrExit, parseCommand } from '../command.ts';
import { operate, refusedOrThrow } from '../operate.ts';

const HELP = `Usage: laundryconnect-notify stats [--today | --window today|7d|30d | --from ISO --to ISO]
                                  [--granularity hour|day] [--tz ZONE] [--json]

Delivery figures (docs/stats.md): "SMS sent today: N" first, then per channel sent / delivered /
failed / pending / skipped and the delivery rate, SMS segments and cost, and the top failure codes.
--json prints everything, time series and queue included, as GET /api/v1/stats answers it.

  --today         the default: today in --tz (default STATS_TIME_ZONE, UTC unless set)
  --window W      today, 7d or 30d (the last 7 or 30 local days, today included)
  --from, --to    a custom window [from, to) as ISO 8601 instants

Works while \`serve\` runs: on PostgreSQL it reads the database; on the embedded database it asks
the running process over DATA_DIR/run/operator.sock (only the data directory's owner can connect),
and opens DATA_DIR itself when nothing runs there.
Exit codes: 0 printed, 1 failed (no database, nothing answering), 2 usage error.`;

export async function runStatsCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    argv,
    {
      today: { type: 'boolean' },
      window: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      granularity: { type: 'string' },
      tz: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  if ('exitCode' in parsed) return parsed.exitCode;
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v['today'] && v['window'] !== undefined && v['window'] !== 'today') {
    console.error(`--today and --window ${v['window']} contradict each other\n\n${HELP}`);
    return 2;
  }
  // The same schema as the API's query string, so both refuse the same things.
  const query = statsQuery.safeParse({
    window: v['today'] ? 'today' : v['window'],
    from: v['from'],
    to: v['to'],
    granularity: v['granularity'],
    tz: v['tz'],
  });
  if (!query.success) {
    console.error(
      `${query.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n')}\n\n${HELP}`,
    );
    return 2;
  }
  const config = configOrExit();
  if (!config) return 1;
  // The window is checked here first, so a bad one is a usage error wherever the figures come from.
  try {
    windowFromQuery(query.data, config.STATS_TIME_ZONE, new Date());
  } catch (err) {
    if (!(err instanceof StatsWindowError)) throw err;
    console.error(`${err.message}\n\n${HELP}`);
    return 2;
  }
  if (!config.DATABASE_URL && !existsSync(config.DATA_DIR)) {
    console.error(`Error: No database in ${config.DATA_DIR} (DATA_DIR): nothing has run there yet`);
    return 1;
  }
  let stats: DeliveryStats;
  try {
    stats = (await operate(config, 'stats', query.data)).result;
  } catch (err) {
    return refusedOrThrow(err);
  }
  console.log(v['json'] ? JSON.stringify(stats, null, 2) : formatStats(stats, query.data));
  return 0;
}

const CHANNEL_LABEL: Record<string, string> = { in_app: 'in-app', sms: 'SMS', email: 'email', push: 'push' };

/** The text report; the first line is the guide's "SMS sent today: N". */
export function formatStats(s: DeliveryStats, query: StatsQuery): string {
  const named = query.from === undefined ? (query.window ?? 'today') : undefined;
  const when =
    named === 'today'
      ? 'today'
      : named
        ? `in the last ${named.replace('d', ' days')}`
        : `from ${s.window.from} to ${s.window.to}`;
  const lines = [`SMS sent ${when}: ${s.channels.sms.handed_to_provider}`, ''];
  lines.push(`Window ${s.window.from} → ${s.window.to} (${s.window.time_zone})`);
  const header = ['channel', 'total', 'sent', 'delivered', 'failed', 'pending', 'skipped', 'rate'];
  const rows = Object.entries(s.channels).map(([name, c]) => [
    CHANNEL_LABEL[name] ?? name,
    ...[c.total, c.sent, c.delivered, c.failed, c.pending, c.skipped].map(String),
    c.delivery_rate === null ? '—' : `${(c.delivery_rate * 100).toFixed(1)} %`,
  ]);
  lines.push(...table([header, ...rows]));
  const skipped = Object.entries(s.channels).flatMap(([name, c]) =>
    Object.entries(c.skipped_by_reason).map(([reason, n]) => `${CHANNEL_LABEL[name] ?? name} ${reason} ${n}`),
  );
  if (skipped.length > 0) lines.push(`Skipped: ${skipped.join(', ')}`);
  const cost = s.sms_cost;
  const money = (n: number) => `${n.toFixed(5)} ${cost.currency ?? ''}`.trim();
  lines.push(
    '',
    `SMS cost: ${cost.segments} segments, estimated ${money(cost.estimated)}` +
      (cost.reported === null
        ? ', no price reported yet'
        : `, reported ${money(cost.reported)} (${cost.priced} priced)`),
  );
  if (s.failures.length > 0) {
    lines.push('', 'Top failure codes:');
    for (const f of s.failures.slice(0, 5)) {
      lines.push(
        `  ${CHANNEL_LABEL[f.channel] ?? f.channel} ${f.code ?? '(none)'} ×${f.count}${f.meaning ? `  ${f.meaning}` : ''}`,
      );
    }
  }
  const due = s.queue.reduce((n, q) => n + q.due, 0);
  const oldest = Math.max(0, ...s.queue.map((q) => q.oldest_due_age_ms ?? 0));
  lines.push('', `Queue: ${due} due now${due > 0 ? ` (oldest waiting ${Math.round(oldest / 1000)} s)` : ''}`);
  return lines.join('\n');
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
  );
}
