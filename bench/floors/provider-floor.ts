/**
 * The provider floor: the `twilio` SDK, configured exactly as the service configures it
 * (createTwilioClient: keep-alive, 128 sockets, no auto-retry), sending `messages.create` to a
 * sandbox process as fast as it can with a fixed number of requests in flight.
 * Usage: node bench/floors/provider-floor.ts <json plan>; prints one JSON line.
 */
import { createTwilioClient } from '../../src/channels/sms/twilio-http-client.ts';

export interface ProviderFloorPlan {
  sandboxUrl: string;
  accountSid: string;
  authToken: string;
  seconds: number;
  warmup: number;
  concurrency: number;
  users: number;
  body: string;
}

export interface ProviderFloorResult {
  messagesPerSecond: number;
  sent: number;
  errors: number;
  seconds: number;
}

async function run(plan: ProviderFloorPlan): Promise<ProviderFloorResult> {
  const client = createTwilioClient({
    accountSid: plan.accountSid,
    authToken: plan.authToken,
    baseUrl: plan.sandboxUrl,
    timeoutMs: 15_000,
  });
  let sent = 0;
  let errors = 0;
  let next = 0;
  const start = Date.now();
  const measureFrom = start + plan.warmup * 1000;
  const end = measureFrom + plan.seconds * 1000;
  const loop = async () => {
    while (Date.now() < end) {
      next = (next % plan.users) + 1;
      const to = `+9198765${String(next).padStart(5, '0')}`;
      try {
        await client.messages.create({ to, from: '+15005550006', body: plan.body });
        if (Date.now() >= measureFrom) sent++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, loop));
  const seconds = (Date.now() - measureFrom) / 1000;
  return { messagesPerSecond: sent / seconds, sent, errors, seconds };
}

console.log(JSON.stringify(await run(JSON.parse(process.argv[2]!) as ProviderFloorPlan)));
// The SDK's keep-alive agent would hold the process open.
process.exit(0);
