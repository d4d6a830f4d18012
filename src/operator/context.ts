/** What an operation (operations.ts) runs on: the CLI's own parts, or the running serve's. */
import type { CampaignDeps } from '../campaigns/recipient-plan.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Database, Db } from '../db/database.ts';
import type { RetentionOptions } from '../retention/run-retention.ts';
import type { SmsSetup } from '../setup/sms.ts';
import type { TemplateStore } from '../templates/template-store.ts';

export interface OperatorContext {
  /** The database; opened on first use when the CLI runs the operation itself. */
  db(): Promise<Db>;
  /** The same database with its engine (retention's lock differs between the two). */
  database(): Promise<Database>;
  config: Config;
  clock: Clock;
  /** Templates as the service reads them: database versions over the files. */
  templates(): Promise<TemplateStore>;
  /** The SMS backend: the running service's own (its sandbox included), or one built for the command. */
  sms(): Promise<SmsSetup>;
  /**
   * After a template load: a running service reloads its templates and answers true; the CLI on its
   * own answers false (running services read templates at start-up).
   */
  templatesChanged(): Promise<boolean>;
  /**
   * Campaigns' parts: the running service's (`wake` runs its campaign pass at once), or built for
   * the command (no pass here: a worker's next pass starts what the command started).
   */
  campaigns(): Promise<{ deps: CampaignDeps; wake(): void }>;
  /** A template load's progress, for the CLI's bar when it loads them itself. */
  onProgress?: (done: number, total: number) => void;
  /** A retention run's progress, for the CLI's line when it runs it itself. */
  onRetentionBatch?: RetentionOptions['onBatch'];
}

/** A refusal the command prints as `Error: …` and exits 1 on; never a stack trace. */
export class OperationRefused extends Error {
  override name = 'OperationRefused';
}
