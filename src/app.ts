import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import type { FastifyInstance } from 'fastify';
import { startApiNode } from './app/api-node.ts';
import { startOperatorSocket } from './app/operator-socket.ts';
import type { AppParts } from './app/parts.ts';
import { startWorkerNode } from './app/worker-node.ts';
import { ensureAdminKey } from './auth/api-keys.ts';
import { SettingsLinks } from './auth/settings-link.ts';
import { UnsubscribeTokens } from './auth/unsubscribe-tokens.ts';
import { UserTokens } from './auth/user-tokens.ts';
import { campaignDeps } from './campaigns/campaign-config.ts';
import type { CampaignDeps } from './campaigns/recipient-plan.ts';
import type { ChannelName } from './catalog/catalog.ts';
import type { Channel } from './channels/channel.ts';
import { withSendRate } from './channels/sms/send-rate.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { type Database, openDatabase } from './db/database.ts';
import { startEmbeddedVacuum } from './db/embedded-vacuum.ts';
import { runMigrations } from './db/migrate.ts';
import { findParkedStatus, ProviderStatusWriter } from './deliveries/apply-provider-statuses.ts';
import { retryPolicies } from './deliveries/retry-policy.ts';
import type { DeliveryWorker } from './deliveries/worker.ts';
import { DigestEmailChannel } from './digest/digest-channel.ts';
import { InAppChannel } from './inbox/in-app-channel.ts';
import { InboxPublisher } from './inbox/inbox-events.ts';
import type { InboxHub } from './inbox/inbox-hub.ts';
import { linkHosts, useLinkSettings } from './links/link-settings.ts';
import { LinkStore } from './links/link-store.ts';
import { createLogger, type Logger, logDestination } from './logger.ts';
import { LinkTokens } from './me/link-tokens.ts';
import type { CreateNotificationDeps } from './notifications/create-notification.ts';
import { deliveryPolicyConfig } from './preferences/delivery-policy.ts';
import { optOutOfSms } from './preferences/sms-opt-out.ts';
import { warnOnInsecureStatusCallback } from './setup/callback-url-check.ts';
import { type EmailSetup, setupEmail } from './setup/email.ts';
import { setupPush } from './setup/push.ts';
import { type SmsSetup, setupSms } from './setup/sms.ts';
import { ServiceMetrics } from './telemetry/metrics.ts';
import { startMetricsListener } from './telemetry/metrics-http.ts';
import { startTracing } from './telemetry/tracing.ts';
import { startRenderPool } from './templates/render-pool.ts';
import { TemplateStore } from './templates/template-store.ts';

export interface AppOptions {
  config: Config;
  /** `serve` runs both; `worker` only the worker; API-only nodes set worker false. */
  api: boolean;
  worker: boolean;
  logger?: Logger;
  /** An already open database (embedding, tests): the app migrates it but leaves closing it to the owner. */
  database?: Database;
  /** The clock of every time-dependent rule (tests step a TestClock); the system clock by default. */
  clock?: Clock;
  /**
   * Told the admin key this start generated as soon as it is stored: a later start-up step can
   * still fail (and `serve` start again, which then finds a key and generates none), so waiting
   * for the whole start would lose the only copy of it.
   */
  onAdminKeyGenerated?: (key: string) => void;
  /** Tracing to this exporter (a test's, in memory) whatever OTEL_EXPORTER_OTLP_ENDPOINT says. */
  traceExporter?: SpanExporter;
}

export interface RunningApp {
  config: Config;
  logger: Logger;
  database: Database;
  templates: TemplateStore;
  userTokens: UserTokens;
  http: FastifyInstance | undefined;
  worker: DeliveryWorker | undefined;
  /** The live inbox's WebSocket fan-out (API nodes only). */
  inboxHub: InboxHub | undefined;
  /** Base URL the API listens on (the real port when PORT=0). */
  url: string | undefined;
  sms: SmsSetup;
  email: EmailSetup;
  /** What campaigns are planned and expanded with (src/campaigns). */
  campaigns: CampaignDeps;
  /** GET /metrics' figures (undefined when off) and the separate listener's URL (METRICS_PORT). */
  metrics: ServiceMetrics | undefined;
  metricsUrl: string | undefined;
  close(): Promise<void>;
}

/**
 * The composition root: every part is built and wired here by hand, in start-up order, and torn
 * down in reverse by `close`. No other module constructs its own dependencies.
 */
export async function startApp(opts: AppOptions): Promise<RunningApp> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL, logDestination(config.LOG_FORMAT));
  const database =
    opts.database ??
    (await openDatabase({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      timeouts: {
        connectMs: config.DATABASE_CONNECT_TIMEOUT_MS,
        statementMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
        idleInTransactionMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      },
      logger,
    }));
  const closers: Array<() => Promise<void>> = opts.database ? [] : [() => database.close()];
  const close = async () => {
    for (const fn of [...closers].reverse())
      await fn().catch((err) => logger.error({ err }, 'error while closing'));
  };
  try {
    // First in, so closed last: the worker drains its sends and HTTP its previews before threads stop.
    closers.push(await startRenderPool(config.TEMPLATE_RENDER_THREADS));
    // Closed after the worker and the API (closers run in reverse), so their last spans are exported.
    const tracing = startTracing({
      endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
      serviceName: config.OTEL_SERVICE_NAME,
      exporter: opts.traceExporter,
    });
    if (tracing) closers.push(() => tracing.close());
    const migrated = await runMigrations(database);
    if (migrated.applied > 0) logger.info(migrated, 'database migrations applied');
    if (database.engine === 'pglite' && config.EMBEDDED_VACUUM_INTERVAL_MS > 0) {
      closers.push(startEmbeddedVacuum(database, config.EMBEDDED_VACUUM_INTERVAL_MS, logger));
    }
    const generatedAdminKey = await ensureAdminKey(database.db, config.ADMIN_API_KEY);
    if (generatedAdminKey) opts.onAdminKeyGenerated?.(generatedAdminKey);
    const userTokens = await UserTokens.create(database.db, config.USER_TOKEN_SECRET, {
      maxTtlSeconds: config.USER_TOKEN_MAX_TTL_SECONDS,
    });
    const templates = new TemplateStore();
    await templates.reload(database.db);

    let publicUrl = config.PUBLIC_URL;
    closers.push(
      useLinkSettings({
        base: () => publicUrl,
        hosts: linkHosts(config.TRACKED_LINK_HOSTS, config.PUBLIC_URL),
      }),
    );
    const callbackUrl = () =>
      config.TWILIO_STATUS_CALLBACK_URL ??
      (publicUrl ? publicUrl + config.SMS_STATUS_CALLBACK_PATH : undefined);
    const onOptedOut = (userId: number, reason: string) =>
      optOutOfSms(database.db, userId, 'twilio_21610', reason);
    // Off unless a token or a port says where it may be read (docs/metrics.md).
    const metrics =
      config.METRICS_TOKEN !== undefined || config.METRICS_PORT !== undefined
        ? new ServiceMetrics({ database, clock, logger })
        : undefined;
    const smsStatusDeps = {
      retryDelayMs: config.SMS_RETRY_DELAY_MS,
      clock,
      onOptedOut,
      writer: new ProviderStatusWriter(database.db),
      ...(metrics ? { onStored: metrics.statusStored } : {}),
    };
    const sms = await setupSms(config, {
      templates,
      logger,
      statusCallbackUrl: callbackUrl,
      vonageReceiptUrl: () => (publicUrl ? publicUrl + config.VONAGE_RECEIPT_PATH : undefined),
      clock,
      receiptFor: (reference) => findParkedStatus(database.db, reference),
      onOptedOut,
      links: new LinkStore(database.db),
    });
    closers.push(() => sms.close());
    const unsubscribeTokens = await UnsubscribeTokens.create(database.db);
    const meLinks = await LinkTokens.create(database.db, () => clock.now());
    const settingsLinks = new SettingsLinks({
      configured: config.NOTIFICATION_SETTINGS_URL,
      // ME_EMAIL_LINK_TTL_HOURS: an email's link must still work when it is read.
      signedLink: async (userId) =>
        (await meLinks.url(publicUrl ?? '', userId, 'preferences', config.ME_EMAIL_LINK_TTL_HOURS * 3600))
          .url,
    });
    const email = await setupEmail(config, {
      templates,
      logger,
      unsubscribe: { tokens: unsubscribeTokens, baseUrl: () => publicUrl },
    });
    closers.push(() => email.close());
    const emailChannel = new DigestEmailChannel({
      inner: email.channel,
      db: database.db,
      settings: settingsLinks,
    });

    const push = await setupPush(config, { db: database.db, templates, logger });
    const channels: Channel[] = [
      new InAppChannel(new InboxPublisher(database.db)),
      push.channel,
      emailChannel,
      ...(sms.channel
        ? [
            withSendRate(
              sms.channel,
              database.db,
              config,
              sms.from ?? config.TWILIO_MESSAGING_SERVICE_SID ?? 'default',
            ),
          ]
        : []),
    ];
    const policies = retryPolicies(config);
    const notificationDeps: CreateNotificationDeps = {
      db: database.db,
      templates,
      retryPolicies: policies,
      availableChannels: new Set<ChannelName>(channels.map((c) => c.name)),
      policy: deliveryPolicyConfig(config),
      mediaHosts: config.MMS_MEDIA_HOSTS ?? [],
      // Quiet hours, digest holding and SMS caps are decided at this instant.
      now: () => new Date(clock.now()),
    };

    const budget = config.SMS_DAILY_BUDGET
      ? { budget: config.SMS_DAILY_BUDGET, currency: config.SMS_BUDGET_CURRENCY }
      : undefined;
    const campaigns = {
      deps: campaignDeps(config, notificationDeps, sms.prices, budget),
      wake: () => {},
    };
    const parts: AppParts = {
      config,
      clock,
      logger,
      database,
      closers,
      templates,
      userTokens,
      unsubscribeTokens,
      meLinks,
      settingsLinks,
      sms,
      push,
      channels,
      retryPolicies: policies,
      notificationDeps,
      smsStatusDeps,
      budget,
      campaigns,
      publicUrl: () => publicUrl,
      metrics,
      tracing,
    };
    // The CLI cannot open a data directory this process holds: it asks here instead.
    if (database.engine === 'pglite' && !opts.database && !config.DATA_DIR.startsWith('memory://')) {
      await startOperatorSocket(parts);
    }
    const api = opts.api ? await startApiNode(parts) : undefined;
    publicUrl ??= api?.url;
    const worker = opts.worker ? await startWorkerNode(parts) : undefined;
    // Once the URL is final (an API node may have just fallen back to its listen address).
    warnOnInsecureStatusCallback(sms, callbackUrl(), logger);
    // Its own listener: the only way a worker-only process serves /metrics; closed first, as it opened last.
    const metricsListener =
      metrics && config.METRICS_PORT !== undefined
        ? await startMetricsListener({
            host: config.METRICS_HOST,
            port: config.METRICS_PORT,
            token: config.METRICS_TOKEN,
            metrics,
            logger,
          })
        : undefined;
    if (metricsListener) closers.push(() => metricsListener.close());
    return {
      config,
      logger,
      database,
      templates,
      userTokens,
      http: api?.http,
      worker,
      inboxHub: api?.inboxHub,
      url: api?.url,
      sms,
      email,
      campaigns: campaigns.deps,
      metrics,
      metricsUrl: metricsListener?.url,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
