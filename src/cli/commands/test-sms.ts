import { type Config, ConfigError, maskSecret } from '../../config.ts';
import type { SandboxInfo, TestSmsSent } from '../../operator/sms-operations.ts';
import type { SmsSetup } from '../../setup/sms.ts';
import { smsProvidersReport } from '../../stats/sms-providers.ts';
import { configOrExit, parseCommand } from '../command.ts';
import { operate, refusedOrThrow, setupCliSms, statusCallbackUrl, type Transport } from '../operate.ts';
import { credentialsProblem } from './sms-credentials.ts';

const HELP = `Usage: laundryconnect-notify test-sms <one of the options below>

Check the SMS configuration or send a test SMS (the seed's \`manage.py test_sms\`).

Options:
  --check-config            check the SMS configuration and print it, both providers (secrets
                            masked): Twilio's credentials with an authenticated call, Vonage's
                            variables (key, secret, sender), and which ones SMS_PROVIDERS enables;
                            exit 1 if SMS is not configured, Twilio rejects the credentials,
                            Vonage is only partly configured or SMS_PROVIDERS names a provider
                            that is not configured
  --phone <e164> [--message <text>]
                            send <text> (default "Test SMS from LaundryConnect!") to an E.164
                            number such as +919876543210
  --user-email <email>      send the order_confirmed SMS, in the user's language, to the phone of
                            the user with this email; a test send does not check preferences
  -h, --help                show this help

SMS backend: the providers' own APIs when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or
VONAGE_API_KEY and VONAGE_API_SECRET) are set, else the built-in sandbox, which speaks both (started
in this process, or the one at SMS_SANDBOX_URL); SMS_BACKEND forces either. --phone and --user-email
send through Twilio. --user-email reads users from DATABASE_URL or the embedded database in DATA_DIR.
While \`serve\` runs on the embedded database, --phone and --user-email are sent by that process
(over DATA_DIR/run/operator.sock), through its SMS backend: its built-in sandbox, when it runs one,
whose URL and account (masked) are printed.
Exit codes: 0 sent / configured, 1 failed / not configured, 2 usage error.`;

const RULE = '='.repeat(60);
const DEFAULT_MESSAGE = 'Test SMS from LaundryConnect!';

export async function runTestSmsCommand(argv: string[]): Promise<number> {
  const parsed = parseCommand(
    argv,
    {
      'check-config': { type: 'boolean' },
      phone: { type: 'string' },
      message: { type: 'string' },
      'user-email': { type: 'string' },
    },
    HELP,
  );
  if ('exitCode' in parsed) return parsed.exitCode;
  const v = parsed.values as {
    'check-config'?: boolean;
    phone?: string;
    message?: string;
    'user-email'?: string;
  };
  const chosen = [v['check-config'], v.phone, v['user-email']].filter((x) => x !== undefined).length;
  if (chosen !== 1 || (v.message !== undefined && v.phone === undefined)) {
    console.error(`Give exactly one of --check-config, --phone (with --message) or --user-email.\n\n${HELP}`);
    return 2;
  }
  const config = configOrExit();
  if (!config) return 1;
  if (v['check-config']) return checkConfig(config);
  try {
    if (v.phone !== undefined) {
      const sent = await operate(config, 'sms.test-phone', {
        to: v.phone,
        body: v.message ?? DEFAULT_MESSAGE,
      });
      return printSent(sent.result, sent.via);
    }
    return await sendToUser(config, v['user-email']!);
  } catch (err) {
    return refusedOrThrow(err);
  }
}

async function checkConfig(config: Config): Promise<number> {
  console.log(RULE);
  console.log('SMS Configuration Check');
  console.log(RULE);
  const sms = await setupOrExplain(config);
  if (sms instanceof ConfigError) {
    console.log('✗ SMS configuration invalid');
    console.log(`  ${sms.message}`);
    console.log(RULE);
    console.error(`Error: ${sms.message}`);
    return 1;
  }
  try {
    // A half-set Vonage is more likely a mistake than a choice: say so before anything else.
    const vonageUnset = VONAGE_VARIABLES.filter((name) => !config[name]);
    if (config.SMS_ENABLED && !sms.vonage && vonageUnset.length < VONAGE_VARIABLES.length) {
      console.log('✗ Vonage partly configured');
      console.log(`  Set ${vonageUnset.join(' and ')} too, or unset the other VONAGE_* variables`);
      console.log(RULE);
      console.error(`Error: Vonage partly configured: ${vonageUnset.join(' and ')} not set`);
      return 1;
    }
    // The channel, not the provider list: SMS are skipped without it, whatever is configured.
    if (!sms.channel) {
      console.log('✗ SMS service not configured');
      for (const hint of notConfiguredHints(config)) console.log(`  ${hint}`);
      console.log(RULE);
      console.error('Error: SMS service not configured');
      return 1;
    }
    // Checked before anything is reported as fine: the seed stopped at the first problem too.
    const problem = sms.service.configured ? await credentialsProblem(config, sms) : undefined;
    if (problem) {
      console.log('✗ SMS credentials rejected');
      console.log('  Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are correct');
      console.log(RULE);
      console.error(`Error: ${problem}`);
      return 1;
    }
    const callback = statusCallbackUrl(config);
    console.log('✓ SMS service is enabled and configured');
    if (sms.service.configured) {
      console.log(`  Account SID: ${maskSecret(sms.accountSid)}`);
      if (sms.from) console.log(`  From Number: ${sms.from}`);
      if (config.TWILIO_MESSAGING_SERVICE_SID) {
        console.log(`  Messaging Service: ${maskSecret(config.TWILIO_MESSAGING_SERVICE_SID)}`);
      }
    }
    console.log(`  Backend: ${describeBackend(config, sms)}`);
    if (sms.service.configured && callback) console.log(`  Status Callback: ${callback}`);
    if (!sms.service.configured) {
      console.log('✗ Twilio not configured');
      console.log(`  Set ${unsetTwilioVariables(config).join(', ')} to send through Twilio too`);
    }
    printVonage(config, sms);
    printProviders(config, sms);
    console.log(RULE);
    return 0;
  } finally {
    await sms.close();
  }
}

/** The SMS setup, or the configuration error that stopped it (e.g. SMS_PROVIDERS naming an unconfigured provider). */
async function setupOrExplain(config: Config): Promise<SmsSetup | ConfigError> {
  try {
    return await setupCliSms(config);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

const VONAGE_VARIABLES = ['VONAGE_API_KEY', 'VONAGE_API_SECRET', 'VONAGE_FROM'] as const;

/**
 * A check of the configuration only: the SDK this service uses (`@vonage/sms`) has no call that
 * sends nothing, and the sandbox serves only the SMS API.
 */
function printVonage(config: Config, sms: SmsSetup): void {
  if (!sms.vonage) {
    console.log('✗ Vonage not configured');
    console.log(
      `  Set ${VONAGE_VARIABLES.join(', ')} (from the Vonage dashboard) to send through Vonage too`,
    );
    return;
  }
  console.log('✓ Vonage is configured');
  console.log(`  API Key: ${maskSecret(sms.vonage.apiKey)}`);
  console.log(`  From: ${sms.vonage.from}`);
  if (sms.backend === 'sandbox' && !config.VONAGE_API_KEY) {
    console.log("  Account: the sandbox's (VONAGE_API_KEY unset)");
  }
  if (sms.vonage.signature) {
    console.log(`  Delivery Receipts: signed (${sms.vonage.signature.method})`);
    if (config.PUBLIC_URL) console.log(`  Receipt URL: ${config.PUBLIC_URL}${config.VONAGE_RECEIPT_PATH}`);
  } else {
    console.log('  Delivery Receipts: not asked for (set VONAGE_SIGNATURE_SECRET to verify them)');
  }
}

/** Which providers send (SMS_PROVIDERS), and which are configured but left out. */
function printProviders(config: Config, sms: SmsSetup): void {
  const why = config.SMS_PROVIDERS
    ? `SMS_PROVIDERS=${config.SMS_PROVIDERS}`
    : 'SMS_PROVIDERS unset: every configured provider';
  console.log(`✓ Sending through: ${sms.providers.join(', ')} (${why})`);
  const left = smsProvidersReport(config, sms)
    .providers.filter((p) => p.configured && !p.enabled)
    .map((p) => p.name);
  if (left.length > 0)
    console.log(`  Not enabled: ${left.join(', ')} (configured; add to SMS_PROVIDERS to use)`);
}

function describeBackend(config: Config, sms: SmsSetup): string {
  if (sms.backend === 'twilio') return "live (the providers' own APIs)";
  if (config.SMS_SANDBOX_URL) return `sandbox at ${config.SMS_SANDBOX_URL}`;
  return 'sandbox (built-in, no Twilio account needed)';
}

function notConfiguredHints(config: Config): string[] {
  if (!config.SMS_ENABLED) return ['SMS is switched off: set SMS_ENABLED=true'];
  const missing = unsetTwilioVariables(config);
  if (config.SMS_SANDBOX_URL && config.SMS_BACKEND !== 'twilio') {
    return [`Set ${missing.join(' and ')} to the credentials of the sandbox at ${config.SMS_SANDBOX_URL}`];
  }
  return [
    `Set ${missing.join(', ')} (from the Twilio console; the phone number in E.164, e.g. +919876543210)`,
    `or ${VONAGE_VARIABLES.join(', ')} (from the Vonage dashboard)`,
    'or unset SMS_BACKEND to use the built-in sandbox',
  ];
}

function unsetTwilioVariables(config: Config): string[] {
  return [
    config.TWILIO_ACCOUNT_SID ? undefined : 'TWILIO_ACCOUNT_SID',
    config.TWILIO_AUTH_TOKEN ? undefined : 'TWILIO_AUTH_TOKEN',
    config.TWILIO_PHONE_NUMBER || config.TWILIO_MESSAGING_SERVICE_SID ? undefined : 'TWILIO_PHONE_NUMBER',
  ].filter((name) => name !== undefined);
}

function printSent({ result, sandbox }: TestSmsSent, via: Transport): number {
  console.log(JSON.stringify(result, null, 2));
  if (!result.success) {
    console.error(`Error: ${result.error}`);
    return 1;
  }
  console.log(`✓ SMS sent: ${result.message_sid} (status ${result.status})`);
  if (sandbox) console.log(describeSandbox(sandbox, via));
  return 0;
}

/** Where to look at the message: the sandbox's URL and account, the token masked. */
export function describeSandbox(sandbox: SandboxInfo, via: Transport): string {
  const whose = !sandbox.built_in
    ? 'at SMS_SANDBOX_URL'
    : via === 'serve'
      ? "the running serve's built-in sandbox; its messages are in the console's Sandbox page"
      : "this command's own built-in sandbox, stopped when it ends (run it beside serve to use serve's)";
  return [
    `  Sandbox: ${sandbox.url} (${whose})`,
    `  Sandbox Account SID: ${sandbox.account_sid}`,
    `  Sandbox Auth Token: ${sandbox.auth_token}`,
  ].join('\n');
}

async function sendToUser(config: Config, email: string): Promise<number> {
  const { result, via } = await operate(config, 'sms.test-user', { email });
  if (result.kind === 'no_phone') {
    console.error(`Info: User ${result.email} has no phone number. Skipping SMS.`);
    return 1;
  }
  const { composed } = result;
  console.log(
    `Sending ${result.type} to ${email} (user ${result.user.external_id}, locale ${result.user.locale}) ` +
      '(test send: preferences not checked)',
  );
  console.log(
    `  ${composed.encoding}, ${composed.characters} characters, ${composed.segments} segment(s), ` +
      `estimated ${composed.cost.amount} ${composed.cost.currency}`,
  );
  console.log(`  Text: ${result.body}`);
  return printSent(result, via);
}
