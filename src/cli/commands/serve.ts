import { setTimeout as sleep } from 'node:timers/promises';
import { startApp } from '../../app.ts';
import { isDatabaseUnavailable } from '../../database-errors.ts';
import { DataDirLockedError } from '../../db/data-dir-lock.ts';
import { configOrExit, parseCommand } from '../command.ts';

const HELP = `Usage: laundryconnect-notify serve|api|worker [--help]

  serve   API and delivery worker in one process (embedded PGlite by default)
  api     API only          (needs DATABASE_URL: PostgreSQL)
  worker  delivery worker only (needs DATABASE_URL: PostgreSQL)

Configuration: PORT (3000; 0 = any free port), HOST (127.0.0.1), DATA_DIR (./data),
DATABASE_URL (unset = embedded PGlite in DATA_DIR), and more in docs/configuration.md.
Stops cleanly on SIGINT/SIGTERM: in-flight deliveries finish first.`;

export async function runServeCommand(
  argv: string[],
  roles: { api: boolean; worker: boolean },
): Promise<number> {
  const parsed = parseCommand(argv, {}, HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const config = configOrExit();
  if (!config) return 1;
  if (!config.DATABASE_URL && !(roles.api && roles.worker)) {
    console.error(
      'Separate api and worker processes need PostgreSQL (set DATABASE_URL): the embedded database ' +
        'allows one process per data directory. Use `serve` to run both in one process.',
    );
    return 1;
  }
  // Listen for stop signals before starting: a SIGTERM during start-up still closes cleanly.
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  let app: Awaited<ReturnType<typeof startApp>> | undefined;
  try {
    app = await startWhenDatabaseAnswers(
      () =>
        startApp({
          config,
          ...roles,
          onAdminKeyGenerated: (key) => console.log(`\nAdmin API key (shown once, store it now): ${key}\n`),
        }),
      {
        timeoutMs: config.DATABASE_STARTUP_TIMEOUT_MS,
        stopSignal,
      },
    );
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  if (!app) {
    console.log('Stopped before the database answered');
    return 0;
  }
  const engine = app.database.engine === 'pglite' ? `embedded PGlite in ${config.DATA_DIR}` : 'PostgreSQL';
  if (app.url) console.log(`LaundryConnect Notify listening on ${app.url} (${engine})`);
  if (app.url) console.log(`API docs: ${app.url}/docs`);
  if (app.url) console.log(`Console: ${app.url}/console (sign in with an admin or viewer API key)`);
  if (roles.worker) console.log(`Delivery worker ${app.worker?.id} running`);
  const signal = await stopSignal;
  console.log(`${signal} received: finishing in-flight deliveries, then stopping`);
  await app.close();
  console.log('Stopped cleanly');
  return 0;
}

/**
 * Start, and start again while the database cannot be reached (not yet up, restarting, a connection
 * reset mid-start-up), for at most `timeoutMs`: a process started beside its database, or during a
 * failover, waits for it instead of crashing. Start-up is safe to repeat: migrations run in one
 * transaction, and a failed start closes what it opened. Any other error, or the time running out,
 * fails at once. Resolves undefined when a stop signal arrives while waiting.
 */
async function startWhenDatabaseAnswers<T>(
  start: () => Promise<T>,
  opts: { timeoutMs: number; stopSignal: Promise<string> },
): Promise<T | undefined> {
  const deadline = Date.now() + opts.timeoutMs;
  const stop = new AbortController();
  void opts.stopSignal.then(() => stop.abort());
  for (let delayMs = 250; ; delayMs = Math.min(delayMs * 2, 5_000)) {
    try {
      return await start();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + delayMs > deadline) throw err;
      console.error(
        `The database cannot be reached yet (${rootCause(err)}); starting again in ${delayMs} ms`,
      );
    }
    // A ref'd timer: it is what keeps the process alive while it waits.
    await sleep(delayMs, undefined, { signal: stop.signal }).catch(() => {});
    if (stop.signal.aborted) return undefined;
  }
}

/**
 * The driver's own words (ECONNREFUSED, "Connection terminated…"), not Drizzle's wrapper that
 * repeats the query. Bounded, as a cause chain can loop.
 */
function rootCause(err: unknown): string {
  let e = err;
  for (let depth = 0; e instanceof Error && e.cause instanceof Error && depth < 4; depth++) e = e.cause;
  return e instanceof Error ? e.message || (e as { code?: string }).code || e.name : String(e);
}
