import { openDatabase } from '../../db/database.ts';
import { runMigrations } from '../../db/migrate.ts';
import { createLogger, logDestination } from '../../logger.ts';
import { configOrExit, parseCommand } from '../command.ts';

const HELP = `Usage: laundryconnect-notify migrate [--help]

Apply pending database migrations (to PostgreSQL when DATABASE_URL is set, else to the embedded
database in DATA_DIR) and exit. Safe to run repeatedly; the service also migrates on start.`;

export async function runMigrateCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(argv, {}, HELP);
  if ('exitCode' in parsed) return parsed.exitCode;
  const config = configOrExit();
  if (!config) return 1;
  const database = await openDatabase({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    logger: createLogger(config.LOG_LEVEL, logDestination(config.LOG_FORMAT)),
  });
  try {
    const { applied, total } = await runMigrations(database);
    console.log(
      `Migrations: ${applied} applied, ${total} in total, database is current (${database.engine})`,
    );
    return 0;
  } finally {
    await database.close();
  }
}
