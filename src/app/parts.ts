import type { SettingsLinks } from '../auth/settings-link.ts';
import type { UnsubscribeTokens } from '../auth/unsubscribe-tokens.ts';
import type { UserTokens } from '../auth/user-tokens.ts';
import type { CampaignDeps } from '../campaigns/recipient-plan.ts';
import type { Channel } from '../channels/channel.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { retryPolicies } from '../deliveries/retry-policy.ts';
import type { Logger } from '../logger.ts';
import type { LinkTokens } from '../me/link-tokens.ts';
import type { CreateNotificationDeps } from '../notifications/create-notification.ts';
import type { PushSetup } from '../setup/push.ts';
import type { SmsSetup } from '../setup/sms.ts';
import type { BudgetSettings } from '../stats/sms-budget.ts';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import type { Tracing } from '../telemetry/tracing.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import type { SmsStatusDeps } from '../tracking/sms-status.ts';

/**
 * What the composition root has built before it starts a node's roles: the API node
 * (`api-node.ts`) and the worker node (`worker-node.ts`) are wired from these, and each hands its
 * teardown to `closers` (run in reverse).
 */
export interface AppParts {
  config: Config;
  clock: Clock;
  logger: Logger;
  database: Database;
  closers: Array<() => Promise<void>>;
  templates: TemplateStore;
  userTokens: UserTokens;
  unsubscribeTokens: UnsubscribeTokens;
  meLinks: LinkTokens;
  settingsLinks: SettingsLinks;
  sms: SmsSetup;
  push: PushSetup;
  channels: Channel[];
  retryPolicies: ReturnType<typeof retryPolicies>;
  notificationDeps: CreateNotificationDeps;
  smsStatusDeps: SmsStatusDeps;
  budget: BudgetSettings | undefined;
  /** Campaigns' parts; `wake` runs the campaign pass at once (set by the worker node, else a no-op). */
  campaigns: { deps: CampaignDeps; wake(): void };
  /** The base URL links and callbacks use: PUBLIC_URL, or the API's own address once it listens. */
  publicUrl(): string | undefined;
  /** GET /metrics' figures, when METRICS_TOKEN or METRICS_PORT turns them on (docs/metrics.md). */
  metrics?: ServiceMetrics | undefined;
  /** OpenTelemetry, when OTEL_EXPORTER_OTLP_ENDPOINT turns it on (docs/metrics.md#traces). */
  tracing?: Tracing | undefined;
}
