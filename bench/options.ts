import { parseArgs } from 'node:util';
import { BATCH_MAX_ITEMS } from '../src/notifications/create-notification-batch.ts';

export type Engine = 'pglite' | 'postgres';
export type BenchChannel = 'sms' | 'in_app' | 'email';

export interface BenchOptions {
  engine: Engine;
  /** Measured seconds of each phase (after its warm-up). */
  duration: number;
  warmup: number;
  /** Offered load of the throughput phase: notifications/s, or 'max' (closed loop, as fast as answered). */
  rate: number | 'max';
  /** Offered load of the latency phase (skipped when `rate` is itself a fixed rate). */
  latencyRate: number;
  floorDuration: number;
  /** Measured seconds of the status-callback capacity phase (0 skips it). */
  callbacksDuration: number;
  /** Measured seconds of the bulk phase (POST /api/v1/notifications/batch; 0 skips it). */
  bulkDuration: number;
  /** Items per batch request of the bulk phase. */
  batchSize: number;
  /** Batch requests in flight in the bulk phase. */
  bulkConcurrency: number;
  channels: BenchChannel[];
  connections: number;
  users: number;
  stepMs: number;
  out: string;
  /** PostgreSQL server the bench creates (and drops) its throwaway databases on. */
  postgresUrl: string;
  /** Directory for `--cpu-prof` profiles of the service processes (undefined: no profiling). */
  cpuProf: string | undefined;
}

export const HELP = `Usage: npm run bench -- [options]

Runs the service as a user would (processes, HTTP API, Twilio sandbox), drives notifications through
it with autocannon and measures throughput, latency, callbacks, memory and CPU against two floors
measured in the same run (docs/performance.md).

  --engine pglite|postgres   embedded single process, or api + worker processes on PostgreSQL (pglite)
  --duration <s>             measured seconds per phase (20)
  --warmup <s>               warm-up seconds before each measured phase (5)
  --rate max|<n>             offered notifications/s of the throughput phase (max)
  --latency-rate <n>         offered notifications/s of the latency phase (100)
  --floor-duration <s>       seconds of each floor (min(duration, 10))
  --callbacks-duration <s>   seconds of the status-callback capacity phase (min(duration, 10); 0 skips)
  --bulk-duration <s>        measured seconds of the bulk phase, batches after the throughput phase
                             (duration; 0 skips)
  --batch-size <n>           notifications per batch request of the bulk phase (1000, at most ${BATCH_MAX_ITEMS})
  --bulk-concurrency <n>     batch requests in flight in the bulk phase (4)
  --channels <list>          channels each user is opted in to: sms,in_app[,email] (sms,in_app)
  --connections <n>          keep-alive connections of the load generator at max rate (32)
  --users <n>                users seeded, each with its own valid phone (1000)
  --step-ms <n>              sandbox delay between status callbacks (200)
  --out <dir>                where results go (bench/results)
  --postgres-url <url>       server for the throwaway databases (BENCH_POSTGRES_URL or the local test db)
  --cpu-prof <dir>           write V8 CPU profiles of the service processes to <dir>
  -h, --help                 this help`;

export class UsageError extends Error {}

function positive(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number ≥ ${min}`);
  return n;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      engine: { type: 'string', default: 'pglite' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      rate: { type: 'string', default: 'max' },
      'latency-rate': { type: 'string' },
      'floor-duration': { type: 'string' },
      'callbacks-duration': { type: 'string' },
      'bulk-duration': { type: 'string' },
      'batch-size': { type: 'string' },
      'bulk-concurrency': { type: 'string' },
      channels: { type: 'string', default: 'sms,in_app' },
      connections: { type: 'string' },
      users: { type: 'string' },
      'step-ms': { type: 'string' },
      out: { type: 'string', default: 'bench/results' },
      'postgres-url': { type: 'string' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (values.engine !== 'pglite' && values.engine !== 'postgres')
    throw new UsageError(`--engine must be pglite or postgres, not "${values.engine}"`);
  const channels = values.channels.split(',').map((c) => c.trim());
  for (const c of channels) {
    if (c !== 'sms' && c !== 'in_app' && c !== 'email')
      throw new UsageError(`--channels: unknown channel "${c}" (sms, in_app, email)`);
  }
  if (!channels.includes('sms')) throw new UsageError('--channels must include sms (the floors are SMS)');
  const duration = positive('duration', values.duration, 20);
  const batchSize = positive('batch-size', values['batch-size'], 1000);
  if (!Number.isInteger(batchSize) || batchSize > BATCH_MAX_ITEMS)
    throw new UsageError(
      `--batch-size must be a whole number from 1 to ${BATCH_MAX_ITEMS} (the API's limit)`,
    );
  return {
    engine: values.engine,
    duration,
    warmup: positive('warmup', values.warmup, 5, 0),
    rate: values.rate === 'max' ? 'max' : positive('rate', values.rate, 0),
    latencyRate: positive('latency-rate', values['latency-rate'], 100),
    floorDuration: positive('floor-duration', values['floor-duration'], Math.min(duration, 10)),
    callbacksDuration: positive(
      'callbacks-duration',
      values['callbacks-duration'],
      Math.min(duration, 10),
      0,
    ),
    bulkDuration: positive('bulk-duration', values['bulk-duration'], duration, 0),
    batchSize,
    bulkConcurrency: positive('bulk-concurrency', values['bulk-concurrency'], 4),
    channels: channels as BenchChannel[],
    connections: positive('connections', values.connections, 32),
    users: positive('users', values.users, 1000),
    stepMs: positive('step-ms', values['step-ms'], 200, 0),
    out: values.out,
    postgresUrl:
      values['postgres-url'] ?? env['BENCH_POSTGRES_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/test',
    cpuProf: values['cpu-prof'],
  };
}
