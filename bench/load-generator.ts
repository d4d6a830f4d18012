/**
 * The load generator, run as its own process so its CPU is not the service's: autocannon over
 * keep-alive connections, either POSTing notifications (round-robin over the seeded users) or
 * posting signed Twilio status callbacks; or batches of notifications (bench/bulk-load.ts). Reports progress and its summary to the parent over IPC.
 * A fixed offered rate is paced here instead (see pacedLoad).
 */
import http from 'node:http';
import autocannon from 'autocannon';
import twilio from 'twilio';
import { type BulkPlan, bulkLoad } from './bulk-load.ts';

export type LoadPlan =
  | {
      kind: 'notifications';
      url: string;
      apiKey: string;
      users: number;
      type: string;
      context: Record<string, unknown>;
      seconds: number;
      rate: number | 'max';
      connections: number;
    }
  | {
      kind: 'callbacks';
      url: string;
      /** The callback URL exactly as the service rebuilds it from PUBLIC_URL (the signed URL). */
      callbackUrl: string;
      authToken: string;
      accountSid: string;
      messages: { sid: string; to: string }[];
      seconds: number;
      connections: number;
    }
  | BulkPlan;

export interface LoadSummary {
  startedAt: number;
  endedAt: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** autocannon's own request latency (ms), for the trigger call itself. */
  requestLatencyMs: { p50: number; p99: number; max: number };
}

export type LoadMessage =
  | { type: 'progress'; at: number; ok: number; non2xx: number }
  | { type: 'done'; summary: LoadSummary }
  | { type: 'error'; message: string };

type NotificationPlan = Extract<LoadPlan, { kind: 'notifications' }>;

/** The bodies of successive triggers, round-robin over the seeded users. */
function notificationBodies(plan: NotificationPlan): () => string {
  let next = 0;
  const context = JSON.stringify(plan.context);
  return () => {
    next = (next % plan.users) + 1;
    return `{"user_id":"bench-user-${next}","type":"${plan.type}","context":${context}}`;
  };
}

const notificationHeaders = (plan: NotificationPlan) => ({
  'content-type': 'application/json',
  authorization: `Bearer ${plan.apiKey}`,
});

function requestsFor(plan: Exclude<LoadPlan, BulkPlan>): autocannon.Request[] {
  if (plan.kind === 'notifications') {
    const body = notificationBodies(plan);
    return [
      {
        method: 'POST',
        path: '/api/v1/notifications',
        headers: notificationHeaders(plan),
        setupRequest: (req) => ({ ...req, body: body() }),
      },
    ];
  }
  let next = 0;
  const path = new URL(plan.callbackUrl).pathname;
  return [
    {
      method: 'POST',
      path,
      setupRequest: (req) => {
        const m = plan.messages[next++ % plan.messages.length]!;
        // A late, duplicate `delivered`: signature checked, matched against the history and
        // answered without a new row, the delivery unchanged — the common case of Twilio's retries.
        const params = {
          AccountSid: plan.accountSid,
          ApiVersion: '2010-04-01',
          From: '+15005550006',
          MessageSid: m.sid,
          MessageStatus: 'delivered',
          SmsSid: m.sid,
          SmsStatus: 'delivered',
          To: m.to,
        };
        return {
          ...req,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': twilio.getExpectedTwilioSignature(plan.authToken, plan.callbackUrl, params),
          },
          body: new URLSearchParams(params).toString(),
        };
      },
    },
  ];
}

const send = (m: LoadMessage) => process.send?.(m);

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/**
 * An open loop at a fixed rate: request i leaves at start + i / rate, whatever the answers do.
 * autocannon's `overallRate` is a per-second quota per connection, sent back to back at the top of
 * each second, so "100/s" arrived as bursts and the latency phase measured the bursts (PostgreSQL:
 * p50 19 ms bursty, 4 ms evenly paced). Keep-alive sockets as autocannon's; at most `connections`
 * requests in flight, so a stalled service does not get an unbounded pile.
 */
async function pacedLoad(plan: NotificationPlan, rate: number): Promise<LoadSummary> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: plan.connections });
  const body = notificationBodies(plan);
  const headers = notificationHeaders(plan);
  const target = new URL('/api/v1/notifications', plan.url);
  const latencies: number[] = [];
  const codes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let inFlight = 0;
  let stopped = false;
  process.once('SIGTERM', () => {
    stopped = true;
  });
  const timer = setInterval(() => send({ type: 'progress', at: Date.now(), ok, non2xx }), 250);
  const fire = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      inFlight++;
      const req = http.request(target, { method: 'POST', agent, headers, timeout: 30_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          inFlight--;
          latencies.push(performance.now() - sent);
          const code = res.statusCode ?? 0;
          codes[code] = (codes[code] ?? 0) + 1;
          if (code >= 200 && code < 300) ok++;
          else non2xx++;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => {
        inFlight--;
        errors++;
        resolve();
      });
      req.end(body());
    });
  const startedAt = Date.now();
  const start = performance.now();
  const total = Math.round(plan.seconds * rate);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total && !stopped; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // Over the in-flight cap the schedule slips: counted as the requests the run could not offer.
    while (inFlight >= plan.connections && !stopped) await new Promise((r) => setTimeout(r, 1));
    pending.push(fire());
  }
  await Promise.all(pending);
  clearInterval(timer);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    startedAt,
    endedAt: Date.now(),
    requests: latencies.length + errors,
    ok,
    non2xx,
    errors,
    timeouts: 0,
    statusCodes: codes,
    requestLatencyMs: {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1) ?? 0,
    },
  };
}

async function main(): Promise<void> {
  const plan = await new Promise<LoadPlan>((resolve) => process.once('message', resolve));
  if (plan.kind === 'bulk') {
    const progress = (ok: number, non2xx: number) => send({ type: 'progress', at: Date.now(), ok, non2xx });
    send({ type: 'done', summary: await bulkLoad(plan, progress) });
    process.disconnect?.();
    return;
  }
  if (plan.kind === 'notifications' && plan.rate !== 'max') {
    send({ type: 'done', summary: await pacedLoad(plan, plan.rate) });
    process.disconnect?.();
    return;
  }
  let ok = 0;
  let non2xx = 0;
  const startedAt = Date.now();
  const instance = autocannon(
    {
      url: plan.url,
      connections: plan.connections,
      duration: plan.seconds,
      requests: requestsFor(plan),
      timeout: 30,
    },
    (err, result) => {
      clearInterval(timer);
      if (err) {
        send({ type: 'error', message: String(err) });
        process.exit(1);
      }
      const codes: Record<string, number> = {};
      for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) codes[code] = v.count ?? 0;
      send({
        type: 'done',
        summary: {
          startedAt,
          endedAt: Date.now(),
          requests: result.requests.total,
          ok,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes: codes,
          requestLatencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
        },
      });
      process.disconnect?.();
    },
  );
  instance.on('response', (_client, statusCode) => {
    if (statusCode >= 200 && statusCode < 300) ok++;
    else non2xx++;
  });
  const timer = setInterval(() => send({ type: 'progress', at: Date.now(), ok, non2xx }), 250);
  process.once('SIGTERM', () => instance.stop());
}

await main();
