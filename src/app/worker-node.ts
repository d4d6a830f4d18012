import { startCampaignRunner } from '../campaigns/campaign-runner.ts';
import { DeliveryWorker } from '../deliveries/worker.ts';
import { startDigestScheduler } from '../digest/digest-flusher.ts';
import { startFallbackPass } from '../notifications/fallback-pass.ts';
import { retentionOn, retentionSettings, startRetentionJob } from '../retention/retention-job.ts';
import { startBudgetMonitor } from '../stats/sms-budget.ts';
import { startStatsSealer } from '../stats/stats-rollup.ts';
import { startDeliveryLatencyFeed } from '../tracking/delivery-latency-feed.ts';
import { SmsStatusSweep } from '../tracking/status-sweep.ts';
import { WebhookDispatcher } from '../webhooks/dispatcher.ts';
import type { AppParts } from './parts.ts';

/**
 * A worker node: the delivery worker and the periodic jobs beside it (status sweep, budget alerts,
 * digests, the fallback pass, the stats sealer, the SMS providers' latency feed, retention, the webhook sender).
 */
export async function startWorkerNode(parts: AppParts): Promise<DeliveryWorker> {
  const {
    config,
    clock,
    logger,
    database,
    closers,
    channels,
    retryPolicies,
    notificationDeps,
    sms,
    smsStatusDeps,
    budget,
  } = parts;
  const worker = new DeliveryWorker({
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
    retryPolicies,
    batchSize: config.WORKER_BATCH_SIZE,
    pollMs: config.WORKER_POLL_MS,
    leaseMs: config.WORKER_LEASE_MS,
    shutdownGraceMs: config.WORKER_SHUTDOWN_GRACE_MS,
    logger,
    workerId: config.WORKER_ID,
    clock,
    ...(parts.metrics ? { observer: parts.metrics.sends } : {}),
    ...(parts.tracing ? { tracer: parts.tracing.tracer } : {}),
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
  // Closed before the HTTP server (closers run in reverse): drain sends, then stop taking requests.
  closers.push(() => worker.stop());
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
  closers.push(startStatsSealer(database, logger));
  // Campaigns: start the scheduled, expand the running (or resume an interrupted expansion), complete.
  const campaigns = startCampaignRunner({
    deps: parts.campaigns.deps,
    intervalMs: Math.max(config.WORKER_POLL_MS, 1000),
    logger,
    clock,
  });
  parts.campaigns.wake = campaigns.wake;
  closers.push(() => campaigns.stop());
  const retention = retentionSettings(config);
  if (retentionOn(retention)) {
    closers.push(
      startRetentionJob({ ...retention, database, clock, logger, intervalMs: config.RETENTION_INTERVAL_MS }),
    );
  }
  const webhooks = new WebhookDispatcher({
    db: database.db,
    logger,
    clock,
    maxInFlightPerEndpoint: config.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    pollMs: config.WEBHOOK_POLL_MS,
    allowPrivateTargets: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    ...(parts.metrics ? { onAttempt: parts.metrics.webhookAttempt } : {}),
    listen: (channel, onWake) => database.listen(channel, onWake),
  });
  await webhooks.start();
  closers.push(() => webhooks.stop());
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
  return worker;
}
