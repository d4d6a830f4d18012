/**
 * What every fault scenario shares, one module per job: an external Twilio sandbox process (it
 * counts what arrived), a fresh database seeded with SMS-opted-in users (it counts what was
 * created), a client that submits notifications idempotently and retries what the service refused,
 * the service's processes, and waiting (the figures: figures.ts).
 */
export { type CliProcess, runCli } from '../test/process/cli.ts';
export * from './harness/load.ts';
export * from './harness/sandbox.ts';
export * from './harness/services.ts';
export * from './harness/settings.ts';
export * from './harness/store.ts';
export * from './harness/wait.ts';
