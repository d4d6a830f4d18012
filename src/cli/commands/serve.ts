import { startApp } from '../../app.ts';
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
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp({ config, ...roles });
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
  const engine = app.database.engine === 'pglite' ? `embedded PGlite in ${config.DATA_DIR}` : 'PostgreSQL';
  if (app.url) console.log(`LaundryConnect Notify listening on ${app.url} (${engine})`);
  if (app.url) console.log(`API docs: ${app.url}/docs`);
  if (app.url) console.log(`Console: ${app.url}/console (sign in with an admin or viewer API key)`);
  if (roles.worker) console.log(`Delivery worker ${app.worker?.id} running`);
  if (app.generatedAdminKey) {
    console.log(`\nAdmin API key (shown once, store it now): ${app.generatedAdminKey}\n`);
  }
  const signal = await stopSignal;
  console.log(`${signal} received: finishing in-flight deliveries, then stopping`);
  await app.close();
  console.log('Stopped cleanly');
  return 0;
}
