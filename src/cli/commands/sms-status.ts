import { parseArgs } from 'node:util';
import { type Config, smsBackend } from '../../config.ts';
import { configOrExit } from '../command.ts';
import { operate, refusedOrThrow } from '../operate.ts';
import { describeSandbox } from './test-sms.ts';

const HELP = `Usage: laundryconnect-notify sms status <message-sid>

Print a message's status as Twilio reports it (the seed's get_message_status), as JSON:
sid, status, to, from, price, price_unit, num_segments, error_code, error_message, dates.

Where it asks:
  a serve       on the embedded database, the running \`serve\` holding DATA_DIR, through its own
                SMS backend (its built-in sandbox included), over DATA_DIR/run/operator.sock
  Twilio        TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN of the account that sent the message
  a sandbox     SMS_BACKEND=sandbox and SMS_SANDBOX_URL of the running sandbox (\`laundryconnect-notify
                sandbox\` prints its URL and SID) with its TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.
                A sandbox started by this command would be empty, so one is never started here.
Exit codes: 0 found, 1 unknown message or not configured, 2 usage error.`;

// Twilio SIDs: a two-letter prefix and 32 hex digits; anything else never reaches the URL.
const SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;

function usageError(message: string): number {
  console.error(`${message}\n\n${HELP}`);
  return 2;
}

/** `sms <subcommand>`; `status` is the only one so far. */
export async function runSmsCommand(argv: string[]): Promise<number> {
  let values: { help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [sub, sid, ...extra] = positionals;
  if (sub !== 'status') return usageError(sub ? `Unknown sms subcommand "${sub}".` : 'Missing subcommand.');
  if (!sid || extra.length > 0) return usageError('Give exactly one message SID.');
  if (!SID.test(sid)) return usageError(`"${sid}" is not a message SID (SM followed by 32 hex digits).`);
  const config = configOrExit();
  if (!config) return 1;
  try {
    const { result, via } = await operate(
      config,
      'sms.status',
      { sid },
      { beforeDirect: () => notReachable(config) },
    );
    console.log(JSON.stringify(result.status, null, 2));
    // stdout stays the JSON alone; where it came from is for the reader.
    if (result.sandbox) console.error(describeSandbox(result.sandbox, via));
    return 0;
  } catch (err) {
    return refusedOrThrow(err);
  }
}

function notReachable(config: Config): string | undefined {
  if (!config.SMS_ENABLED) return 'SMS service not configured (SMS_ENABLED=false)';
  if (smsBackend(config) === 'sandbox' && !config.SMS_SANDBOX_URL) {
    return (
      'SMS service not configured for status lookups: set SMS_SANDBOX_URL with the sandbox’s ' +
      'TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or Twilio credentials (see --help)'
    );
  }
  if (smsBackend(config) === 'twilio' && config.SMS_SANDBOX_URL) {
    console.error('Note: asking Twilio; SMS_SANDBOX_URL is used only with SMS_BACKEND=sandbox');
  }
  if (!config.TWILIO_ACCOUNT_SID || !config.TWILIO_AUTH_TOKEN) {
    return 'SMS service not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN';
  }
  return undefined;
}
