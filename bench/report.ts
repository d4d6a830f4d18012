/** The Markdown table printed and saved with each run, and a small SVG chart of the phases. */
import type { TimelinePoint } from './analyse.ts';
import type { BenchResult } from './result.ts';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n < 10 ? n.toFixed(1) : int(n));
const pct = (n: number) => `${n.toFixed(0)} %`;

export function markdownTable(r: BenchResult): string {
  const { floors, headline: h, options: o } = r;
  const throughput = r.phases.find((p) => p.name === 'throughput')!;
  const latency = r.phases.find((p) => p.name === 'latency') ?? throughput;
  const l = latency.figures.smsLatencyMs;
  const inApp = latency.figures.inAppLatencyMs;
  const rows: [string, string][] = [
    [
      'Database floor (same driver, same rows, no logic)',
      `${int(floors.database.notificationsPerSecond)} notifications/s`,
    ],
    [
      'Provider floor (twilio SDK → sandbox, 64 in flight)',
      `${int(floors.provider.messagesPerSecond)} messages/s`,
    ],
    [
      `**End-to-end** (${o.channels.join(' + ')}, offered ${throughput.offered === 'max' ? 'max' : `${throughput.offered}/s`})`,
      `**${int(h.endToEndPerSecond)} notifications/s = ${pct(h.percentOfLowerFloor)} of the ${floors.lower.name} floor**`,
    ],
    ['Triggers accepted by the API (same phase)', `${int(throughput.figures.acceptedPerSecond)}/s`],
    [
      `Latency trigger → sandbox receipt at ${latency.offered}/s: p50 / p95 / p99 / max`,
      `${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)} / ${ms(l.max)} ms (${int(l.count)} SMS)`,
    ],
    [
      `Latency trigger → in-app delivered at ${latency.offered}/s: p50 / p99`,
      `${ms(inApp.p50)} / ${ms(inApp.p99)} ms`,
    ],
    ['Status callbacks stored during the throughput phase', `${int(throughput.callbacksStoredPerSecond)}/s`],
  ];
  if (r.callbackCapacity) {
    rows.push([
      'Status callback capacity (signed, checked, deduplicated against the history)',
      `${int(r.callbackCapacity.handledPerSecond)}/s`,
    ]);
  }
  if (r.bulk) rows.push(...bulkRows(r.bulk, floors.lower.name));
  rows.push(
    [
      'Peak RSS',
      Object.entries(h.peakRssMb)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${int(v)} MB`)
        .join(', '),
    ],
    ['CPU during the throughput phase (cores)', cores(h.cpuCores)],
    ['Queue depth, max (accepted, not yet complete)', int(h.maxQueueDepth)],
  );
  const m = r.machine;
  return [
    `### ${r.options.engine === 'pglite' ? 'Embedded (PGlite, one process)' : 'PostgreSQL (api + worker processes)'} — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `${m.cpus} × ${m.model}, ${m.memoryGb} GB, Node ${m.node}, Linux ${m.kernel}, load average ${m.loadAverage.map((v) => v.toFixed(1)).join(' → ')}; ${o.duration} s measured per phase after ${o.warmup} s warm-up, floors ${o.floorDuration} s each.`,
    '',
    '| measure | result |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    ...(r.warnings.length > 0 ? ['', ...r.warnings.map((w) => `> warning: ${w}`)] : []),
    '',
  ].join('\n');
}

const cores = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');

function bulkRows(b: NonNullable<BenchResult['bulk']>, lowerFloor: string): [string, string][] {
  const l = b.figures.batchLatencyMs;
  const d = b.figures.drain;
  const notCreated = Object.entries(b.notCreated);
  return [
    [
      `**Bulk path: accepted** (POST …/batch, ${int(b.batchSize)} per batch, ${b.concurrency} in flight)`,
      `**${int(b.figures.acceptedPerSecond)} notifications/s = ${pct(b.acceptedPercentOfDatabaseFloor)} of the database floor**`,
    ],
    [
      'Bulk path: batch request latency p50 / p99 / max',
      `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)} ms (${int(l.count)} batches)`,
    ],
    [
      'Bulk path: items not created (by status)',
      notCreated.length === 0 ? 'none' : notCreated.map(([k, v]) => `${k}: ${int(v)}`).join(', '),
    ],
    [
      `**Bulk path: drained** (first accept → last channel done, ${int(d.notifications)} notifications in ${d.seconds.toFixed(1)} s)`,
      `**${int(d.perSecond)} notifications/s = ${pct(b.drainPercentOfLowerFloor)} of the ${lowerFloor} floor**`,
    ],
    ['CPU during the bulk phase (cores)', cores(b.cpuCores)],
  ];
}

interface Series {
  label: string;
  color: string;
  points: [number, number | null][];
}

function panel(title: string, unit: string, series: Series[], top: number, w: number, h: number): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.flatMap((p) => (p[1] === null ? [] : [p[1]])));
  const xMax = Math.max(1, ...xs);
  const yMax = Math.max(1, ...ys) * 1.1;
  const left = 60;
  const plotW = w - left - 20;
  const plotH = h - 50;
  const x = (v: number) => (left + (v / xMax) * plotW).toFixed(1);
  const y = (v: number) => (top + 30 + plotH - (v / yMax) * plotH).toFixed(1);
  const lines = series.map((s) => {
    const pts = s.points.filter((p) => p[1] !== null).map((p) => `${x(p[0])},${y(p[1]!)}`);
    return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.join(' ')}"/>`;
  });
  const legend = series.map(
    (s, i) =>
      `<text x="${left + 10 + i * 170}" y="${top + 44}" fill="${s.color}" font-size="11">— ${s.label}</text>`,
  );
  const ticks = [0, 0.5, 1].map(
    (f) =>
      `<text x="${left - 6}" y="${y(yMax * f)}" font-size="10" text-anchor="end">${int(yMax * f)}</text>`,
  );
  return [
    `<text x="${left}" y="${top + 18}" font-size="13" font-weight="bold">${title}</text>`,
    `<rect x="${left}" y="${top + 30}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>`,
    `<text x="${w - 20}" y="${top + 30 + plotH + 14}" font-size="10" text-anchor="end">${int(xMax)} s</text>`,
    `<text x="${left - 6}" y="${top + 26}" font-size="10" text-anchor="end">${unit}</text>`,
    ...ticks,
    ...lines,
    ...legend,
  ].join('\n');
}

const pointsOf = (tl: TimelinePoint[], f: (p: TimelinePoint) => number | null): [number, number | null][] =>
  tl.map((p) => [p.t, f(p)]);

export function svgChart(r: BenchResult): string {
  const w = 720;
  const h = 190;
  const throughput = r.phases.find((p) => p.name === 'throughput')!.figures.timeline;
  const latency = (r.phases.find((p) => p.name === 'latency') ?? r.phases[0]!).figures.timeline;
  const panels = [
    panel(
      `Throughput phase (${r.options.engine}): notifications per second`,
      '/s',
      [
        { label: 'accepted by the API', color: '#888', points: pointsOf(throughput, (p) => p.accepted) },
        { label: 'SMS at the sandbox', color: '#1f77b4', points: pointsOf(throughput, (p) => p.smsReceived) },
        {
          label: 'complete (all channels)',
          color: '#2ca02c',
          points: pointsOf(throughput, (p) => p.completed),
        },
      ],
      0,
      w,
      h,
    ),
    panel(
      'Throughput phase: queue depth (accepted, not complete)',
      'n',
      [{ label: 'queue depth', color: '#d62728', points: pointsOf(throughput, (p) => p.queueDepth) }],
      h,
      w,
      h,
    ),
    panel(
      `Latency phase (${r.phases.find((p) => p.name === 'latency')?.offered ?? ''}/s): trigger → sandbox, by second of trigger`,
      'ms',
      [
        { label: 'p50', color: '#1f77b4', points: pointsOf(latency, (p) => p.smsLatencyP50) },
        { label: 'p99', color: '#ff7f0e', points: pointsOf(latency, (p) => p.smsLatencyP99) },
      ],
      2 * h,
      w,
      h,
    ),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${3 * h}" viewBox="0 0 ${w} ${3 * h}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}
