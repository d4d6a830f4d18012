import type { OperatorContext } from '../operator/context.ts';
import { runOperation } from '../operator/operations.ts';
import { serveOperatorSocket } from '../operator/operator-socket.ts';
import type { AppParts } from './parts.ts';

/**
 * The CLI's way into this process while it holds the embedded data directory (operator-socket.ts):
 * its operations run on this process's own database, templates and SMS backend, so a test SMS
 * reaches the sandbox this process runs, a revoked key stops at once here, and loaded templates are
 * used without a restart. Only on PGlite with a real DATA_DIR: elsewhere the CLI opens the database.
 */
export async function startOperatorSocket(parts: AppParts): Promise<void> {
  const { config, database, logger, templates, sms, clock } = parts;
  const context: OperatorContext = {
    db: async () => database.db,
    database: async () => database,
    config,
    clock,
    templates: async () => templates,
    // Its own backend, never a new one: a sandbox started here would know none of its messages.
    sms: async () => sms,
    campaigns: async () => parts.campaigns,
    templatesChanged: async () => {
      await templates.reload(database.db);
      return true;
    },
  };
  try {
    parts.closers.push(
      await serveOperatorSocket({
        dataDir: config.DATA_DIR,
        handle: (name, input) => runOperation(context, name, input),
        logger,
      }),
    );
  } catch (err) {
    // E.g. a DATA_DIR path too long for a Unix socket: the service runs, only the CLI cannot reach it.
    logger.warn(
      { err },
      'operator socket not served: the CLI (stats, keys, templates, test-sms, sms status, retention) cannot reach this process',
    );
  }
}
