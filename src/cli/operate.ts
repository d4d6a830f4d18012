import { campaignDeps } from '../campaigns/campaign-config.ts';
import type { ChannelName } from '../catalog/catalog.ts';
import { systemClock } from '../clock.ts';
import { type Config, ConfigError } from '../config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { type Database, openDatabase } from '../db/database.ts';
import { runMigrations } from '../db/migrate.ts';
import { retryPolicies } from '../deliveries/retry-policy.ts';
import { createLogger, type Logger, logDestination } from '../logger.ts';
import { OperationRefused, type OperatorContext } from '../operator/context.ts';
import {
  type OperationInput,
  type OperationName,
  type OperationResult,
  runOperation,
} from '../operator/operations.ts';
import {
  askOperator,
  NoOperatorSocketError,
  OperatorSocketError,
  operatorSocketPath,
} from '../operator/operator-socket.ts';
import { deliveryPolicyConfig } from '../preferences/delivery-policy.ts';
import { type SmsSetup, setupSms } from '../setup/sms.ts';
import { TemplateStore } from '../templates/template-store.ts';

/** Logs go to stderr so that a command's own output on stdout stays clean. */
export function cliLogger(config: Config): Logger {
  return createLogger(config.LOG_LEVEL, logDestination(config.LOG_FORMAT, process.stderr));
}

/** The SMS backend as the service builds it; the caller must `close()` it (it may run a sandbox). */
export function setupCliSms(
  config: Config,
  templates: TemplateStore = new TemplateStore(),
): Promise<SmsSetup> {
  return setupSms(config, {
    templates,
    logger: cliLogger(config),
    statusCallbackUrl: () => statusCallbackUrl(config),
    vonageReceiptUrl: () => (config.PUBLIC_URL ? config.PUBLIC_URL + config.VONAGE_RECEIPT_PATH : undefined),
    clock: systemClock,
    // sendSms never reports opt-outs; only the delivery channel records them.
    onOptedOut: async () => {},
  });
}

/** As the service computes it: the configured URL, else PUBLIC_URL + the callback path. */
export function statusCallbackUrl(config: Config): string | undefined {
  return (
    config.TWILIO_STATUS_CALLBACK_URL ??
    (config.PUBLIC_URL ? config.PUBLIC_URL + config.SMS_STATUS_CALLBACK_PATH : undefined)
  );
}

/** Where an operation ran: this process on its own database, or the `serve` holding DATA_DIR. */
export type Transport = 'direct' | 'serve';

/** Whether a `serve` may hold the database: only the embedded one, in a real directory. */
function mayBeHeld(config: Config): boolean {
  return !config.DATABASE_URL && !config.DATA_DIR.startsWith('memory://');
}

/**
 * Run a command's operation (src/operator/operations.ts) where it can run: inside the live `serve`
 * holding the embedded data directory when one answers on its operator socket, else in this process
 * on the database (DATABASE_URL, or DATA_DIR opened and migrated here). A refusal throws
 * OperationRefused; the command prints it. `beforeDirect` may refuse what only a running service
 * can do (a sandbox's status needs the sandbox that sent the message).
 */
export async function operate<N extends OperationName>(
  config: Config,
  name: N,
  input: OperationInput<N>,
  opts: {
    beforeDirect?: () => string | undefined;
    /** Progress, on the direct path only: a running serve reports nothing before its answer. */
    onProgress?: OperatorContext['onProgress'];
    onRetentionBatch?: OperatorContext['onRetentionBatch'];
    /** How long the serve's answer may take (askOperator's default otherwise; 0: as long as it takes). */
    timeoutMs?: number;
  } = {},
): Promise<{ result: OperationResult<N>; via: Transport }> {
  if (mayBeHeld(config)) {
    try {
      return {
        result: (await askOperator(config.DATA_DIR, name, input, opts.timeoutMs)) as OperationResult<N>,
        via: 'serve',
      };
    } catch (err) {
      if (!(err instanceof NoOperatorSocketError)) throw err;
    }
  }
  const refusal = opts.beforeDirect?.();
  if (refusal) throw new OperationRefused(refusal);
  const { onProgress, onRetentionBatch } = opts;
  const direct = directContext(config, { onProgress, onRetentionBatch });
  try {
    return { result: await runOperation(direct.context, name, input), via: 'direct' };
  } finally {
    await direct.close();
  }
}

/** This process's own parts, each made on first use (an SMS status never opens the database). */
function directContext(
  config: Config,
  progress: Pick<OperatorContext, 'onProgress' | 'onRetentionBatch'>,
): { context: OperatorContext; close(): Promise<void> } {
  const database = once(() => openMigratedDatabase(config));
  const sms = once(async () => {
    try {
      // The service's send and status calls read no template: no database needed for them.
      return await setupCliSms(config);
    } catch (err) {
      if (err instanceof ConfigError) throw new OperationRefused(err.message);
      throw err;
    }
  });
  const db = async () => (await database.get()).db;
  const templates = once(async () => {
    const store = new TemplateStore();
    await store.reload(await db());
    return store;
  });
  // Email is always there (SMTP, or the built-in capture); SMS when configured.
  const campaigns = once(async () => {
    const smsSetup = await sms.get();
    const available = new Set<ChannelName>(smsSetup.channel ? ['email', 'sms'] : ['email']);
    const notificationDeps = {
      db: await db(),
      templates: await templates.get(),
      retryPolicies: retryPolicies(config),
      availableChannels: available,
      policy: deliveryPolicyConfig(config),
    };
    const budget = config.SMS_DAILY_BUDGET
      ? { budget: config.SMS_DAILY_BUDGET, currency: config.SMS_BUDGET_CURRENCY }
      : undefined;
    return { deps: campaignDeps(config, notificationDeps, smsSetup.prices, budget), wake: () => {} };
  });
  const context: OperatorContext = {
    db,
    database: database.get,
    config,
    clock: systemClock,
    templates: templates.get,
    sms: sms.get,
    campaigns: campaigns.get,
    templatesChanged: async () => false,
    ...progress,
  };
  return {
    context,
    async close() {
      await (await sms.made()?.catch(() => undefined))?.close();
      await (await database.made()?.catch(() => undefined))?.close();
    },
  };
}

/** A part made on the first `get`; `made` is it if it was. */
function once<T>(make: () => Promise<T>): { get(): Promise<T>; made(): Promise<T> | undefined } {
  let made: Promise<T> | undefined;
  return {
    get() {
      made ??= make();
      return made;
    },
    made: () => made,
  };
}

/** The database opened here and migrated; refused (OperationRefused) while a `serve` holds DATA_DIR. */
export async function openMigratedDatabase(config: Config): Promise<Database> {
  let database: Database;
  try {
    database = await openDatabase({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      logger: cliLogger(config),
    });
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    // Held, yet nothing answered on the socket a moment ago: still starting, or an older version.
    throw new OperationRefused(
      `${err.message}\nThat process does not answer on ${operatorSocketPath(config.DATA_DIR)}: ` +
        'wait until it has started (or it runs a version without the operator socket).',
    );
  }
  try {
    // A data directory an older version left behind is brought current, as `serve` would.
    await runMigrations(database);
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}

/** Print a refusal (or the running service failing) as `Error: …`, exit code 1; anything else throws. */
export function refusedOrThrow(err: unknown): number {
  if (!(err instanceof OperationRefused) && !(err instanceof OperatorSocketError)) throw err;
  console.error(`Error: ${err.message}`);
  return 1;
}
