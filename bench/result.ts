/** The shape of a run's result (bench/results/<stamp>.json): everything the table and chart show. */
import type { BulkFigures, PhaseFigures, Window } from './analyse.ts';
import type { BulkSummary } from './bulk-load.ts';
import type { DatabaseFloorResult } from './floors/database-floor.ts';
import type { ProviderFloorResult } from './floors/provider-floor.ts';
import type { LoadSummary } from './load-generator.ts';
import type { BenchOptions } from './options.ts';

export interface ProcessFigures {
  peakRssMb: number;
  /** CPU time over the measured window of the throughput phase, in cores (1 = one core busy). */
  cpuCores: number;
}

export interface PhaseResult {
  name: 'latency' | 'throughput';
  offered: number | 'max';
  measured: Window;
  load: LoadSummary;
  figures: PhaseFigures;
  callbacksStoredPerSecond: number;
  cpuCores: Record<string, number>;
}

/** The bulk phase: batches accepted, then drained by the whole pipeline. */
export interface BulkResult {
  batchSize: number;
  concurrency: number;
  measured: Window;
  /** The load generator's summary, without its per-batch list (in `figures` already). */
  load: Omit<BulkSummary, 'batches'>;
  figures: BulkFigures;
  /** Items not created (non-201), by outcome; empty when every item was created. */
  notCreated: Record<string, number>;
  acceptedPercentOfDatabaseFloor: number;
  drainPercentOfLowerFloor: number;
  cpuCores: Record<string, number>;
}

export interface BenchResult {
  version: 1;
  date: string;
  machine: {
    cpus: number;
    model: string;
    memoryGb: number;
    node: string;
    kernel: string;
    /** 1-minute load average when the run started and ended: how shared the machine was. */
    loadAverage: [number, number];
  };
  options: BenchOptions;
  floors: {
    database: DatabaseFloorResult & { peakRssMb: number };
    provider: ProviderFloorResult & { peakRssMb: number };
    lower: { name: 'database' | 'provider'; perSecond: number };
  };
  phases: PhaseResult[];
  callbackCapacity: {
    seconds: number;
    handledPerSecond: number;
    non2xx: number;
  } | null;
  bulk: BulkResult | null;
  processes: Record<string, ProcessFigures>;
  headline: {
    endToEndPerSecond: number;
    percentOfLowerFloor: number;
    latencyAtRate: number;
    smsLatencyMs: { p50: number; p95: number; p99: number; max: number };
    callbacksPerSecond: number;
    peakRssMb: Record<string, number>;
    cpuCores: Record<string, number>;
    maxQueueDepth: number;
  };
  warnings: string[];
}
