import type { FastifyInstance } from 'fastify';
import { systemClock } from '../clock.ts';
import { registerConsole } from '../console/console.ts';
import { registerApiKeyRoutes } from '../http/routes/api-keys.ts';
import { registerCampaignRoutes } from '../http/routes/campaigns.ts';
import { registerErrorRoutes } from '../http/routes/errors.ts';
import { registerEventBatchRoute } from '../http/routes/event-batch.ts';
import { registerEventRoutes } from '../http/routes/events.ts';
import { registerHealthRoutes } from '../http/routes/health.ts';
import { registerInboxRoutes } from '../http/routes/inbox.ts';
import { registerLinkRoutes } from '../http/routes/links.ts';
import { registerMetricsRoute } from '../http/routes/metrics.ts';
import { registerNotificationBatchRoute } from '../http/routes/notification-batch.ts';
import { registerNotificationCancelRoutes } from '../http/routes/notification-cancel.ts';
import { registerNotificationRoutes } from '../http/routes/notifications.ts';
import { type PreferenceRouteDeps, registerPreferenceRoutes } from '../http/routes/preferences.ts';
import { registerPushRoutes } from '../http/routes/push.ts';
import { registerSmsProviderRoutes } from '../http/routes/sms-providers.ts';
import { registerStatsRoutes } from '../http/routes/stats.ts';
import { registerTemplateVariantRoutes } from '../http/routes/template-variants.ts';
import { registerTemplateRoutes } from '../http/routes/templates.ts';
import { registerUnsubscribeRoutes } from '../http/routes/unsubscribe.ts';
import { registerUserRoutes } from '../http/routes/users.ts';
import { registerWebhookRoutes } from '../http/routes/webhooks.ts';
import { createHttpServer } from '../http/server.ts';
import { registerSmsInbound, SMS_INBOUND_PATH } from '../inbound/sms-inbound.ts';
import { registerVonageInbound } from '../inbound/vonage-inbound.ts';
import { InboxHub } from '../inbox/inbox-hub.ts';
import { registerInboxSocket } from '../inbox/inbox-socket.ts';
import { registerMe } from '../me/me.ts';
import { smsOptInConfirmation } from '../notifications/sms-opt-in-confirmation.ts';
import { observeHttp } from '../telemetry/metrics-http.ts';
import { registerSmsStatusCallback } from '../tracking/sms-status-callback.ts';
import { registerVonageReceipts } from '../tracking/vonage-receipt-callback.ts';
import { VERSION } from '../version.ts';
import type { AppParts } from './parts.ts';

export interface ApiNode {
  http: FastifyInstance;
  inboxHub: InboxHub;
  /** Base URL the API listens on (the real port when PORT=0). */
  url: string;
}

/** An API node: the HTTP server with every route, the console, the end-user pages and the live inbox. */
export async function startApiNode(parts: AppParts): Promise<ApiNode> {
  const {
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
    notificationDeps,
    smsStatusDeps,
    budget,
  } = parts;
  const http = await createHttpServer({
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
  // Before the routes, so @fastify/otel wraps each one.
  await parts.tracing?.instrument(http);
  if (parts.metrics) {
    observeHttp(http, parts.metrics);
    if (config.METRICS_TOKEN) registerMetricsRoute(http, parts.metrics, config.METRICS_TOKEN);
  }
  registerHealthRoutes(http, database, config.READYZ_TIMEOUT_MS, config.STORAGE_MIN_FREE_MB * 2 ** 20);
  registerErrorRoutes(http);
  registerUserRoutes(http, database.db, userTokens, config.USER_TOKEN_TTL_SECONDS);
  registerNotificationRoutes(http, notificationDeps);
  registerNotificationBatchRoute(http, notificationDeps, config.BATCH_BODY_LIMIT_BYTES);
  registerNotificationCancelRoutes(http, database.db);
  registerEventBatchRoute(http, notificationDeps, config.BATCH_BODY_LIMIT_BYTES);
  registerCampaignRoutes(http, {
    campaigns: parts.campaigns.deps,
    // Read at each call: the worker node, started after this one, sets it.
    wake: () => parts.campaigns.wake(),
    bodyLimit: config.BATCH_BODY_LIMIT_BYTES,
  });
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
  const inboxHub = new InboxHub(database, logger);
  await inboxHub.start();
  closers.push(() => inboxHub.stop());
  registerInboxSocket(http, {
    hub: inboxHub,
    tokens: userTokens,
    heartbeatMs: config.WS_HEARTBEAT_MS,
    logger,
  });
  registerPushRoutes(http, {
    db: database.db,
    tokens: userTokens,
    vapidPublicKey: push.publicKey,
    allowHttpEndpoints: config.PUSH_ALLOW_HTTP_ENDPOINTS,
  });
  registerEventRoutes(http, notificationDeps);
  registerTemplateRoutes(http, { db: database.db, templates, prices: sms.prices });
  registerTemplateVariantRoutes(http, {
    db: database.db,
    templates,
    clock,
    requiredConfidence: config.TEMPLATE_VARIANT_CONFIDENCE,
  });
  registerUnsubscribeRoutes(http, {
    db: database.db,
    tokens: unsubscribeTokens,
    settings: settingsLinks,
  });
  registerLinkRoutes(http, { db: database.db, clock });
  registerStatsRoutes(http, { db: database.db, timeZone: config.STATS_TIME_ZONE });
  registerSmsProviderRoutes(http, { db: database.db, config, sms });
  registerApiKeyRoutes(http, database.db);
  registerWebhookRoutes(http, {
    db: database.db,
    clock,
    allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
  });
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
    inboundWebhookUrl: () => (parts.publicUrl() ?? '') + SMS_INBOUND_PATH,
  });
  await registerMe(http, {
    db: database.db,
    clock,
    userTokens,
    links: meLinks,
    sessionTtlSeconds: config.USER_TOKEN_TTL_SECONDS,
    publicUrl: config.PUBLIC_URL,
    linkBaseUrl: () => parts.publicUrl() ?? '',
    preferences: preferenceDeps,
  });
  if (sms.authToken) {
    registerSmsStatusCallback(http, {
      path: config.SMS_STATUS_CALLBACK_PATH,
      authToken: sms.authToken,
      publicBaseUrl: () => parts.publicUrl() ?? '',
      status: smsStatusDeps,
    });
    registerSmsInbound(http, {
      db: database.db,
      authToken: sms.authToken,
      publicBaseUrl: () => parts.publicUrl() ?? '',
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
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  closers.push(() => http.close());
  return { http, url, inboxHub };
}
