/**
 * `laundryconnect-notify sandbox`: runs the Twilio-compatible sandbox in the foreground until
 * SIGINT/SIGTERM, so the service, benchmarks and reliability tests can point the SDK at it.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { type FaultConfig, faultConfigSchema } from './faults.ts';
import { startTwilioSandbox } from './server.ts';
import { maskSecret } from './sids.ts';

const USAGE = `Usage: laundryconnect-notify sandbox [options]

Runs a local Twilio-compatible SMS API (Messages create/fetch/list, status callbacks,
inbound webhooks, fault injection) and Vonage's SMS API (POST /sms/json, signed delivery
receipts and inbound webhooks) for development, tests and benchmarks.

Options:
  --port <n>            port to listen on (default 4010; 0 picks a free one)
  --host <addr>         address to bind (default 127.0.0.1)
  --account-sid <sid>   account SID the API accepts (default: generated AC + 32 hex)
  --auth-token <token>  auth token for Basic auth and webhook signatures (default: generated)
  --step-ms <n>         delay between status steps queued→sending→sent→delivered (default 200)
  --faults <json|@file> fault configuration, e.g. '{"rate429":0.05,"byNumber":{"+15005550001":{"createError":21211}}}'
  -h, --help            show this help

Control plane: GET/DELETE /sandbox/messages[?provider=twilio|vonage], GET /sandbox/stats,
GET/PUT /sandbox/faults, POST /sandbox/inbound {from,to,body,url},
POST /sandbox/vonage/inbound {from,to,text,url}.`;

class UsageError extends Error {}

function parseFaults(value: string | undefined): FaultConfig | undefined {
  if (value === undefined) return undefined;
  const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
  const parsed = faultConfigSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new UsageError(`invalid --faults: ${parsed.error.message}`);
  return parsed.data;
}

function parseInteger(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new UsageError(`--${name} must be an integer 0..${max}`);
  return n;
}

export async function runSandboxCommand(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  let faults: FaultConfig | undefined;
  let port: number;
  let stepMs: number;
  try {
    values = parse(argv).values;
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    faults = parseFaults(values.faults);
    port = parseInteger('port', values.port, 4010, 65_535);
    stepMs = parseInteger('step-ms', values['step-ms'], 200, 3_600_000);
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }

  const logger = pino({ name: 'twilio-sandbox' }, pino.destination(2));
  const sandbox = await startTwilioSandbox({
    host: values.host,
    port,
    accountSid: values['account-sid'],
    authToken: values['auth-token'],
    stepMs,
    faults,
    logger,
  });
  // Listening for the stop before the banner: whoever reads the banner may stop it at once.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // A generated token exists only in this process, so it is shown; a supplied one is masked.
  const token =
    values['auth-token'] === undefined ? `${sandbox.authToken} (generated)` : maskSecret(sandbox.authToken);
  console.log(`Twilio sandbox listening on ${sandbox.url}`);
  console.log(`  account SID  ${sandbox.accountSid}`);
  console.log(`  auth token   ${token}`);
  // Vonage's are the fixed development defaults: the secrets are named, never printed.
  console.log(`Vonage SMS API on the same port (${sandbox.url}/sms/json)`);
  console.log(`  API key      ${sandbox.vonage.apiKey}`);
  console.log('  secrets      API secret and signature secret: the defaults in docs/sms.md');
  console.log(`  signatures   ${sandbox.vonage.signatureAlgorithm}`);

  const signal = await stopped;
  logger.info({ signal, stats: sandbox.stats() }, 'twilio sandbox stopping');
  await sandbox.close();
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'account-sid': { type: 'string' },
      'auth-token': { type: 'string' },
      'step-ms': { type: 'string' },
      faults: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
