import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BenchResult } from '../../bench/result.ts';
import { runBenchScript } from './run-bench-script.ts';

/** Every number under `value` (arrays and objects walked), with its path. */
function numbersIn(value: unknown, path: string, out: [string, number][] = []): [string, number][] {
  if (typeof value === 'number') out.push([path, value]);
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) numbersIn(v, `${path}[${i}]`, out);
  } else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) numbersIn(v, `${path}.${k}`, out);
  return out;
}

const sumOf = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

// No speed is asserted: only that a short run on PGlite produces a complete, well-formed result.
test('a few seconds of `npm run bench` on PGlite produce a result with every figure present and non-zero', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'lcn-bench-smoke-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const args = ['--duration', '2', '--warmup', '1', '--floor-duration', '1', '--callbacks-duration', '2'];
  const bulk = ['--bulk-duration', '1', '--batch-size', '100', '--bulk-concurrency', '2'];
  const { code, stdout, stderr } = await runBenchScript(
    ['bench/run.ts', '--engine', 'pglite', ...args, ...bulk, '--users', '50', '--out', out],
    // The result's form is under test, not the machine: on a busy one the overload guard's 503s
    // could refuse every batch of so short a bulk phase.
    { ...process.env, DATABASE_URL: '', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0' },
  );
  assert.equal(code, 0, `bench failed:\n${stdout}\n${stderr}`);

  const files = readdirSync(out).sort();
  assert.equal(files.length, 3, files.join(', '));
  const json = files.find((f) => f.endsWith('.json'))!;
  const stem = json.slice(0, -'.json'.length);
  assert.deepEqual(files, [`${stem}.json`, `${stem}.md`, `${stem}.svg`]);

  const r = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResult;
  assert.equal(r.version, 1);
  assert.equal(r.options.engine, 'pglite');
  assert.deepEqual(
    r.phases.map((p) => p.name),
    ['latency', 'throughput'],
  );
  assert.ok(r.callbackCapacity, 'the status-callback phase ran');
  const figures = [
    ...numbersIn(r.headline, 'headline'),
    ...numbersIn(r.floors, 'floors'),
    ...numbersIn(r.callbackCapacity, 'callbackCapacity').filter(([p]) => !p.endsWith('non2xx')),
    ...numbersIn(r.processes, 'processes'),
  ];
  for (const name of ['sandbox', 'service (serve)', 'load generator'])
    assert.ok(r.headline.peakRssMb[name], `peak RSS of ${name}`);
  const missing = figures
    .filter(([, v]) => !Number.isFinite(v) || v <= 0)
    .filter(([p]) => !p.endsWith('.errors'))
    .map(([p, v]) => `${p}=${v}`);
  assert.deepEqual(missing, [], 'every figure is present and non-zero');
  for (const p of r.phases) {
    assert.ok(
      p.figures.endToEndPerSecond > 0 && p.figures.smsLatencyMs.count > 0,
      `${p.name} phase measured`,
    );
    assert.ok(p.figures.timeline.length > 0, `${p.name} phase has a timeline`);
  }

  assert.ok(r.bulk, 'the bulk phase ran');
  assert.equal(r.bulk.batchSize, 100);
  assert.ok(r.bulk.load.items.created > 0 && r.bulk.figures.acceptedPerSecond > 0, 'batches accepted');
  assert.equal(r.bulk.load.items.sent, r.bulk.load.items.created + sumOf(r.bulk.notCreated));
  assert.ok(r.bulk.figures.batchLatencyMs.count > 0 && r.bulk.figures.batchLatencyMs.p50 > 0);
  assert.equal(r.bulk.figures.drain.notifications, r.bulk.load.items.created, 'every accepted one drained');
  assert.ok(r.bulk.figures.drain.perSecond > 0 && r.bulk.drainPercentOfLowerFloor > 0);
  assert.ok(r.bulk.cpuCores['service (serve)']! > 0);

  const table = readFileSync(join(out, `${stem}.md`), 'utf8');
  assert.match(table, /\| \*\*Bulk path: accepted\*\* .* notifications\/s = \d+ % of the database floor/);
  assert.match(table, /\| \*\*Bulk path: drained\*\* .* % of the (database|provider) floor/);
  assert.match(table, /\| measure \| result \|/);
  assert.match(table, /% of the (database|provider) floor/);
  assert.ok(stdout.includes(table.trim().split('\n')[0]!), 'the table is printed');
  const svg = readFileSync(join(out, `${stem}.svg`), 'utf8');
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<polyline /);
});
