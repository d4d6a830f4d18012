/**
 * The load generator, run as its own process so its CPU is not the service's: autocannon over
 * keep-alive connections, either POSTing notifications (round-robin over the seeded users) or
 * posting signed Twilio status callbacks. Reports progress and its summary to the parent over IPC.
 */
import autocannon from 'autocannon';
import twilio from 'twilio';

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
    };

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

function requestsFor(plan: LoadPlan): autocannon.Request[] {
  if (plan.kind === 'notifications') {
    let next = 0;
    const context = JSON.stringify(plan.context);
    return [
      {
        method: 'POST',
        path: '/api/v1/notifications',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${plan.apiKey}` },
        setupRequest: (req) => {
          next = (next % plan.users) + 1;
          return {
            ...req,
            body: `{"user_id":"bench-user-${next}","type":"${plan.type}","context":${context}}`,
          };
        },
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
        // A late, duplicate `delivered`: signature checked, the callback stored in the history,
        // the delivery unchanged (already delivered) — the common case of Twilio's retries.
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

async function main(): Promise<void> {
  const plan = await new Promise<LoadPlan>((resolve) => process.once('message', resolve));
  const send = (m: LoadMessage) => process.send?.(m);
  const fixedRate = plan.kind === 'notifications' && plan.rate !== 'max' ? plan.rate : undefined;
  let ok = 0;
  let non2xx = 0;
  const startedAt = Date.now();
  const instance = autocannon(
    {
      url: plan.url,
      connections: fixedRate === undefined ? plan.connections : Math.min(plan.connections, 16),
      duration: plan.seconds,
      ...(fixedRate === undefined ? {} : { overallRate: fixedRate }),
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
