import type { FastifyInstance } from 'fastify';
import { ensureAdminKey } from './auth/api-keys.ts';
import { SettingsLinks } from './auth/settings-link.ts';
import { UnsubscribeTokens } from './auth/unsubscribe-tokens.ts';
import { UserTokens } from './auth/user-tokens.ts';
import type { ChannelName } from './catalog/catalog.ts';
import type { Channel } from './channels/channel.ts';
import { withSendRate } from './channels/sms/send-rate.ts';
import { type Clock, systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { registerConsole } from './console/console.ts';
import { type Database, openDatabase } from './db/database.ts';
import { startEmbeddedVacuum } from './db/embedded-vacuum.ts';
import { runMigrations } from './db/migrate.ts';
import { findParkedStatus, ProviderStatusWriter } from './deliveries/apply-provider-statuses.ts';
import { retryPolicies } from './deliveries/retry-policy.ts';
import { DeliveryWorker } from './deliveries/worker.ts';
import { DigestEmailChannel } from './digest/digest-channel.ts';
import { startDigestScheduler } from './digest/digest-flusher.ts';
import { registerApiKeyRoutes } from './http/routes/api-keys.ts';
import { registerErrorRoutes } from './http/routes/errors.ts';
import { registerEventBatchRoute } from './http/routes/event-batch.ts';
import { registerEventRoutes } from './http/routes/events.ts';
import { registerHealthRoutes } from './http/routes/health.ts';
import { registerInboxRoutes } from './http/routes/inbox.ts';
import { registerNotificationBatchRoute } from './http/routes/notification-batch.ts';
import { registerNotificationCancelRoutes } from './http/routes/notification-cancel.ts';
import { registerNotificationRoutes } from './http/routes/notifications.ts';
import { type PreferenceRouteDeps, registerPreferenceRoutes } from './http/routes/preferences.ts';
import { registerPushRoutes } from './http/routes/push.ts';
import { registerSmsProviderRoutes } from './http/routes/sms-providers.ts';
import { registerStatsRoutes } from './http/routes/stats.ts';
import { registerTemplateRoutes } from './http/routes/templates.ts';
import { registerUnsubscribeRoutes } from './http/routes/unsubscribe.ts';
import { registerUserRoutes } from './http/routes/users.ts';
import { createHttpServer } from './http/server.ts';
import { registerSmsInbound, SMS_INBOUND_PATH } from './inbound/sms-inbound.ts';
import { registerVonageInbound } from './inbound/vonage-inbound.ts';
import { InAppChannel } from './inbox/in-app-channel.ts';
import { InboxPublisher } from './inbox/inbox-events.ts';
import { InboxHub } from './inbox/inbox-hub.ts';
import { registerInboxSocket } from './inbox/inbox-socket.ts';
import { createLogger, type Logger, logDestination } from './logger.ts';
import { LinkTokens } from './me/link-tokens.ts';
import { registerMe } from './me/me.ts';
import type { CreateNotificationDeps } from './notifications/create-notification.ts';
import { startFallbackPass } from './notifications/fallback-pass.ts';
import { smsOptInConfirmation } from './notifications/sms-opt-in-confirmation.ts';
import { deliveryPolicyConfig } from './preferences/delivery-policy.ts';
import { optOutOfSms } from './preferences/sms-opt-out.ts';
import { type EmailSetup, setupEmail } from './setup/email.ts';
import { setupPush } from './setup/push.ts';
import { type SmsSetup, setupSms } from './setup/sms.ts';
import { serveLocalStats } from './stats/local-stats.ts';
import { startBudgetMonitor } from './stats/sms-budget.ts';
import { startStatsSealer } from './stats/stats-rollup.ts';
import { startRenderPool } from './templates/render-pool.ts';
import { TemplateStore } from './templates/template-store.ts';
import { startDeliveryLatencyFeed } from './tracking/delivery-latency-feed.ts';
import { registerSmsStatusCallback } from './tracking/sms-status-callback.ts';
import { SmsStatusSweep } from './tracking/status-sweep.ts';
import { registerVonageReceipts } from './tracking/vonage-receipt-callback.ts';
import { VERSION } from './version.ts';

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
    const migrated = await runMigrations(database);
    if (migrated.applied > 0) logger.info(migrated, 'database migrations applied');
    if (database.engine === 'pglite' && config.EMBEDDED_VACUUM_INTERVAL_MS > 0) {
      closers.push(startEmbeddedVacuum(database, config.EMBEDDED_VACUUM_INTERVAL_MS, logger));
    }
    // The `stats` command cannot open a data directory this process holds: it asks here instead.
    if (database.engine === 'pglite' && !opts.database && !config.DATA_DIR.startsWith('memory://')) {
      try {
        closers.push(
          await serveLocalStats({
            dataDir: config.DATA_DIR,
            db: database.db,
            timeZone: config.STATS_TIME_ZONE,
            logger,
          }),
        );
      } catch (err) {
        // E.g. a DATA_DIR path too long for a Unix socket: the service runs, only `stats` cannot ask it.
        logger.warn(
          { err },
          'stats socket not served: `laundryconnect-notify stats` cannot reach this process',
        );
      }
    }
    const generatedAdminKey = await ensureAdminKey(database.db, config.ADMIN_API_KEY);
    if (generatedAdminKey) opts.onAdminKeyGenerated?.(generatedAdminKey);
    const userTokens = await UserTokens.create(database.db, config.USER_TOKEN_SECRET, {
      maxTtlSeconds: config.USER_TOKEN_MAX_TTL_SECONDS,
    });
    const templates = new TemplateStore();
    await templates.reload(database.db);

    let publicUrl = config.PUBLIC_URL;
    const callbackUrl = () =>
      config.TWILIO_STATUS_CALLBACK_URL ??
      (publicUrl ? publicUrl + config.SMS_STATUS_CALLBACK_PATH : undefined);
    const onOptedOut = (userId: number, reason: string) =>
      optOutOfSms(database.db, userId, 'twilio_21610', reason);
    const smsStatusDeps = {
      retryDelayMs: config.SMS_RETRY_DELAY_MS,
      clock,
      onOptedOut,
      writer: new ProviderStatusWriter(database.db),
    };
    const sms = await setupSms(config, {
      templates,
      logger,
      statusCallbackUrl: callbackUrl,
      vonageReceiptUrl: () => (publicUrl ? publicUrl + config.VONAGE_RECEIPT_PATH : undefined),
      clock,
      receiptFor: (reference) => findParkedStatus(database.db, reference),
      onOptedOut,
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
      // Quiet hours, digest holding and SMS caps are decided at this instant.
      now: () => new Date(clock.now()),
    };

    const budget = config.SMS_DAILY_BUDGET
      ? { budget: config.SMS_DAILY_BUDGET, currency: config.SMS_BUDGET_CURRENCY }
      : undefined;
    let http: FastifyInstance | undefined;
    let url: string | undefined;
    let inboxHub: InboxHub | undefined;
    if (opts.api) {
      http = await createHttpServer({
        logger,
        bodyLimit: config.BODY_LIMIT_BYTES,
        rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
        trustProxy: config.TRUST_PROXY,
        overload: {
          maxEventLoopDelayMs: config.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
          maxHeapUsedBytes: config.OVERLOAD_MAX_HEAP_USED_BYTES,
          maxRssBytes: config.OVERLOAD_MAX_RSS_BYTES,
          retryAfterSeconds: config.OVERLOAD_RETRY_AFTER_SECONDS,
          // PostgreSQL bounds the wait with its pool's connect timeout; PGlite has no such bound.
          maxInFlight: database.engine === 'pglite' ? config.OVERLOAD_EMBEDDED_MAX_IN_FLIGHT : 0,
        },
        version: VERSION,
      });
      registerHealthRoutes(http, database, config.READYZ_TIMEOUT_MS, config.STORAGE_MIN_FREE_MB * 2 ** 20);
      registerErrorRoutes(http);
      registerUserRoutes(http, database.db, userTokens, config.USER_TOKEN_TTL_SECONDS);
      registerNotificationRoutes(http, notificationDeps);
      registerNotificationBatchRoute(http, notificationDeps, config.BATCH_BODY_LIMIT_BYTES);
      registerNotificationCancelRoutes(http, database.db);
      registerEventBatchRoute(http, notificationDeps, config.BATCH_BODY_LIMIT_BYTES);
      const onSmsOptIn = smsOptInConfirmation(notificationDeps);
      const preferenceDeps: PreferenceRouteDeps = {
        db: database.db,
        tokens: userTokens,
        defaultQuietHours: notificationDeps.policy!.defaultQuietHours,
        budget,
        onSmsOptIn,
      };
      registerPreferenceRoutes(http, preferenceDeps);
      registerInboxRoutes(http, database.db, userTokens);
      inboxHub = new InboxHub(database, logger);
      await inboxHub.start();
      const hub = inboxHub;
      closers.push(() => hub.stop());
      registerInboxSocket(http, { hub, tokens: userTokens, heartbeatMs: config.WS_HEARTBEAT_MS, logger });
      registerPushRoutes(http, {
        db: database.db,
        tokens: userTokens,
        vapidPublicKey: push.publicKey,
        allowHttpEndpoints: config.PUSH_ALLOW_HTTP_ENDPOINTS,
      });
      registerEventRoutes(http, notificationDeps);
      registerTemplateRoutes(http, { db: database.db, templates, prices: sms.prices });
      registerUnsubscribeRoutes(http, {
        db: database.db,
        tokens: unsubscribeTokens,
        settings: settingsLinks,
      });
      registerStatsRoutes(http, { db: database.db, timeZone: config.STATS_TIME_ZONE });
      registerSmsProviderRoutes(http, { db: database.db, config, sms });
      registerApiKeyRoutes(http, database.db);
      await registerConsole(http, {
        database,
        clock,
        logger,
        publicUrl: config.PUBLIC_URL,
        timeZone: config.STATS_TIME_ZONE,
        sessionLimits: {
          idleMs: config.CONSOLE_SESSION_IDLE_MINUTES * 60_000,
          absoluteMs: config.CONSOLE_SESSION_MAX_HOURS * 3_600_000,
        },
        signInAttemptsPerMinute: config.CONSOLE_SIGN_IN_ATTEMPTS_PER_MINUTE,
        warningPercent: config.CONSOLE_DELIVERY_RATE_WARNING_PERCENT,
        liveIntervalMs: config.CONSOLE_LIVE_INTERVAL_MS,
        config,
        templates,
        notifications: notificationDeps,
        preferences: preferenceDeps,
        sms,
        userTokens,
        inboundWebhookUrl: () => (publicUrl ?? '') + SMS_INBOUND_PATH,
      });
      await registerMe(http, {
        db: database.db,
        clock,
        userTokens,
        links: meLinks,
        sessionTtlSeconds: config.USER_TOKEN_TTL_SECONDS,
        publicUrl: config.PUBLIC_URL,
        linkBaseUrl: () => publicUrl ?? '',
        preferences: preferenceDeps,
      });
      if (sms.authToken) {
        registerSmsStatusCallback(http, {
          path: config.SMS_STATUS_CALLBACK_PATH,
          authToken: sms.authToken,
          publicBaseUrl: () => publicUrl ?? '',
          status: smsStatusDeps,
        });
        registerSmsInbound(http, {
          db: database.db,
          authToken: sms.authToken,
          publicBaseUrl: () => publicUrl ?? '',
          helpText: config.SMS_HELP_TEXT,
          logger,
          onSmsOptIn,
        });
      }
      const vonage = sms.vonage;
      if (vonage?.signature) {
        // Vonage stamps its webhooks on the wall clock, whatever clock a test steps the rules on.
        const signed = { signature: vonage.signature, clock: systemClock };
        registerVonageReceipts(http, {
          ...signed,
          db: database.db,
          path: config.VONAGE_RECEIPT_PATH,
          status: smsStatusDeps,
        });
        registerVonageInbound(http, {
          ...signed,
          db: database.db,
          path: config.VONAGE_INBOUND_PATH,
          helpText: config.SMS_HELP_TEXT,
          logger,
          onSmsOptIn,
          sendSms: (to, text) => vonage.service.sendSms(to, text),
        });
      }
      await http.listen({ host: config.HOST, port: config.PORT });
      const address = http.server.address();
      const port = typeof address === 'object' && address ? address.port : config.PORT;
      url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
      publicUrl ??= url;
      const server = http;
      closers.push(() => server.close());
    }

    let worker: DeliveryWorker | undefined;
    if (opts.worker) {
      worker = new DeliveryWorker({
        database,
        channels,
        concurrency: {
          in_app: config.WORKER_CONCURRENCY_IN_APP,
          sms: config.WORKER_CONCURRENCY_SMS,
          email: config.WORKER_CONCURRENCY_EMAIL,
          push: config.WORKER_CONCURRENCY_PUSH,
        },
        // The SDK times its own request out; the worker's abort is the backstop a little later.
        timeoutsMs: {
          in_app: 10_000,
          sms: config.SMS_REQUEST_TIMEOUT_MS + 5_000,
          email: 30_000,
          push: 30_000,
        },
        retryPolicies: policies,
        batchSize: config.WORKER_BATCH_SIZE,
        pollMs: config.WORKER_POLL_MS,
        leaseMs: config.WORKER_LEASE_MS,
        shutdownGraceMs: config.WORKER_SHUTDOWN_GRACE_MS,
        logger,
        workerId: config.WORKER_ID,
        clock,
      });
      await worker.start();
      if (sms.channel) {
        const sweep = new SmsStatusSweep({
          db: database.db,
          service: sms.service,
          status: smsStatusDeps,
          logger,
          intervalMs: config.SMS_STATUS_SWEEP_MS,
          staleAfterMs: config.SMS_STATUS_STALE_MS,
          clock,
        });
        sweep.start();
        closers.push(() => sweep.stop());
      }
      const w = worker;
      // Closed before the HTTP server (closers run in reverse): drain sends, then stop taking requests.
      closers.push(() => w.stop());
      if (budget) closers.push(startBudgetMonitor(database.db, budget, logger));
      closers.push(startDigestScheduler(database.db, config.DIGEST_WINDOW_MS, logger, clock));
      closers.push(
        // At the lease reaper's pace: each pass is two small reads, not worth the poll's when it is fast.
        startFallbackPass({
          deps: notificationDeps,
          intervalMs: Math.max(config.WORKER_POLL_MS, 1000),
          logger,
          clock,
        }),
      );
      closers.push(startStatsSealer(database.db, logger));
      if (sms.router) {
        closers.push(
          startDeliveryLatencyFeed({
            db: database.db,
            router: sms.router,
            providers: sms.providers,
            intervalMs: config.SMS_HEALTH_POLL_MS,
            logger,
          }),
        );
      }
    }

    return {
      config,
      logger,
      database,
      templates,
      userTokens,
      http,
      worker,
      inboxHub,
      url,
      sms,
      email,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
