import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { users } from '../../src/db/schema.ts';
import { startTwilioSandbox, type TwilioSandbox } from '../../src/sandbox/server.ts';
import { type CliDatabase, cli, cliDatabase } from './helpers.ts';

const SID = `AC${'1234abcd'.repeat(4)}`;
const TOKEN = 'f00dfeedf00dfeedf00dfeedf00dfeed';
const RULE = '='.repeat(60);

describe('test-sms --check-config', () => {
  test('the built-in sandbox: the seed layout, the SID masked, the token never printed', async () => {
    const r = await cli(['test-sms', '--check-config'], {
      SMS_BACKEND: 'sandbox',
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: TOKEN,
      TWILIO_STATUS_CALLBACK_URL: 'https://notify.example.com/api/sms/status-callback/',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        RULE,
        'SMS Configuration Check',
        RULE,
        '✓ SMS service is enabled and configured',
        '  Account SID: AC1234abcd...',
        '  From Number: +15005550006',
        '  Backend: sandbox (built-in, no Twilio account needed)',
        '  Status Callback: https://notify.example.com/api/sms/status-callback/',
        // Vonage, which the sandbox also serves, after the seed's lines.
        '✓ Vonage is configured',
        '  API Key: ********',
        '  From: LNDRYC',
        "  Account: the sandbox's (VONAGE_API_KEY unset)",
        '  Delivery Receipts: signed (md5hash)',
        '✓ Sending through: twilio, vonage (SMS_PROVIDERS unset: every configured provider)',
        RULE,
        '',
      ].join('\n'),
    );
    assert.ok(!`${r.stdout}${r.stderr}`.includes(TOKEN), 'the auth token is never printed');
    assert.ok(!r.stdout.includes(SID), 'the full SID is never printed');
  });

  test("Vonage's own credentials: the key masked, the sender, signed receipts; no secret printed", async () => {
    const key = 'vk0123456789abcd';
    const secret = 'VonageApiSecret9';
    const signature = 'vonage-signature-secret-for-cli';
    const r = await cli(['test-sms', '--check-config'], {
      SMS_BACKEND: 'sandbox',
      PUBLIC_URL: 'https://notify.example.com',
      VONAGE_API_KEY: key,
      VONAGE_API_SECRET: secret,
      VONAGE_SIGNATURE_SECRET: signature,
      VONAGE_SIGNATURE_METHOD: 'sha256hmac',
      VONAGE_FROM: 'LCNTFY',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stdout.includes(
        [
          '✓ Vonage is configured',
          '  API Key: vk01234567...',
          '  From: LCNTFY',
          '  Delivery Receipts: signed (sha256hmac)',
          '  Receipt URL: https://notify.example.com/api/sms/vonage/receipt',
          '✓ Sending through: twilio, vonage (SMS_PROVIDERS unset: every configured provider)',
        ].join('\n'),
      ),
      r.stdout,
    );
    for (const hidden of [key, secret, signature]) {
      assert.ok(!`${r.stdout}${r.stderr}`.includes(hidden), `never printed: ${hidden}`);
    }
  });

  test('SMS_PROVIDERS=twilio: Vonage is shown configured but not enabled', async () => {
    const r = await cli(['test-sms', '--check-config'], { SMS_BACKEND: 'sandbox', SMS_PROVIDERS: 'twilio' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /✓ Vonage is configured\n[\s\S]*✓ Sending through: twilio \(SMS_PROVIDERS=twilio\)\n {2}Not enabled: vonage \(configured; add to SMS_PROVIDERS to use\)\n/,
    );
  });

  test('Vonage half set up: what is missing, exit 1, nothing reported as fine', async () => {
    const r = await cli(['test-sms', '--check-config'], {
      SMS_BACKEND: 'twilio',
      VONAGE_API_KEY: 'abcdef12',
      VONAGE_API_SECRET: 'VonageApiSecret9',
    });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✗ Vonage partly configured\n {2}Set VONAGE_FROM too/);
    assert.match(r.stderr, /^Error: Vonage partly configured: VONAGE_FROM not set$/m);
    assert.doesNotMatch(r.stdout, /✓/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes('VonageApiSecret9'));
  });

  test('SMS_PROVIDERS naming a provider that is not configured: the reason, exit 1, no stack trace', async () => {
    const r = await cli(['test-sms', '--check-config'], { SMS_BACKEND: 'twilio', SMS_PROVIDERS: 'vonage' });
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /✗ SMS configuration invalid\n {2}SMS_PROVIDERS names vonage, which is not configured/,
    );
    assert.equal(
      r.stderr.trim(),
      'Error: SMS_PROVIDERS names vonage, which is not configured (see docs/sms.md)',
    );
  });

  test('with no configuration at all the sandbox is used, and the check still ends (no server left running)', async () => {
    const r = await cli(['test-sms', '--check-config'], {}, 20_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /✓ SMS service is enabled and configured\n {2}Account SID: AC[0-9a-f]{8}\.\.\.\n/);
    assert.match(r.stdout, /Backend: sandbox \(built-in, no Twilio account needed\)/);
  });

  test('SMS_BACKEND=twilio without credentials: not configured, what to set, exit 1', async () => {
    const r = await cli(['test-sms', '--check-config'], { SMS_BACKEND: 'twilio' });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✗ SMS service not configured/);
    assert.match(r.stdout, /Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER/);
    assert.match(r.stderr, /Error: SMS service not configured/);
    assert.doesNotMatch(r.stdout, /✓/);
  });

  test('SMS_ENABLED=false: not configured, exit 1', async () => {
    const r = await cli(['test-sms', '--check-config'], { SMS_ENABLED: 'false' });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✗ SMS service not configured\n {2}SMS is switched off: set SMS_ENABLED=true/);
  });
});

describe('test-sms --phone', () => {
  let sandbox: TwilioSandbox;
  before(async () => {
    sandbox = await startTwilioSandbox({ accountSid: SID, authToken: TOKEN });
  });
  after(() => sandbox.close());
  const sandboxEnv = () => ({
    SMS_BACKEND: 'sandbox',
    SMS_SANDBOX_URL: sandbox.url,
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
  });

  test('sends to the sandbox and prints the seed result as JSON and the SID', async () => {
    const r = await cli(
      ['test-sms', '--phone', '+919876543210', '--message', 'Hello from LaundryConnect!'],
      sandboxEnv(),
    );
    assert.equal(r.code, 0, r.stderr);
    const sid = /✓ SMS sent: (SM[0-9a-f]{32}) \(status queued\)/.exec(r.stdout)?.[1];
    assert.ok(sid, r.stdout);
    const json = JSON.parse(r.stdout.slice(0, r.stdout.indexOf('✓')));
    assert.equal(json.success, true);
    assert.equal(json.message_sid, sid);
    assert.equal(json.status, 'queued');
    assert.equal(json.to, '+919876543210');
    const stored = sandbox.messages().find((m) => m.sid === sid);
    assert.equal(stored?.body, 'Hello from LaundryConnect!');
  });

  test('names the sandbox it sent to: its URL and account, the token masked', async () => {
    const r = await cli(['test-sms', '--phone', '+919876543210'], sandboxEnv());
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`  Sandbox: ${sandbox.url} (at SMS_SANDBOX_URL)\n`), r.stdout);
    assert.match(
      r.stdout,
      /^ {2}Sandbox Account SID: AC1234abcd\.\.\.\n {2}Sandbox Auth Token: f00dfeedf0\.\.\.$/m,
    );
    assert.ok(!`${r.stdout}${r.stderr}`.includes(TOKEN), 'the auth token is never printed whole');
  });

  test('the built-in in-process sandbox also sends, and the command exits', async () => {
    const r = await cli(['test-sms', '--phone', '+14155551234'], {}, 20_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /✓ SMS sent: SM[0-9a-f]{32} \(status queued\)/);
    // Nothing else runs there: the sandbox is the command's own, and it says it is gone after.
    assert.match(
      r.stdout,
      /^ {2}Sandbox: http:\/\/127\.0\.0\.1:\d+ \(this command's own built-in sandbox, stopped when it ends/m,
    );
  });

  test('--check-config proves the credentials with an authenticated call: the right token passes', async () => {
    const r = await cli(['test-sms', '--check-config'], sandboxEnv());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /✓ SMS service is enabled and configured/);
    assert.match(r.stdout, new RegExp(`Backend: sandbox at ${sandbox.url}`));
  });

  test('--check-config with a wrong token: the seed "Twilio error: Authenticate", exit 1', async () => {
    const wrong = 'badbadbadbadbadbadbadbadbadbad00';
    const r = await cli(['test-sms', '--check-config'], { ...sandboxEnv(), TWILIO_AUTH_TOKEN: wrong });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /✗ SMS credentials rejected\n {2}Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/);
    assert.doesNotMatch(r.stdout, /✓/);
    assert.equal(r.stderr.trim(), 'Error: Twilio error: Authenticate (20003)');
    assert.ok(!`${r.stdout}${r.stderr}`.includes(wrong), 'the token is never printed');
  });

  test('an invalid number is refused with the seed text before anything is sent', async () => {
    for (const phone of ['9876543210', '+91 9876543210', '+91-9876-543210']) {
      const before = sandbox.messages().length;
      const r = await cli(['test-sms', '--phone', phone], sandboxEnv());
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr.trim(),
        'Error: Invalid phone number format. Must start with + and country code.',
      );
      assert.equal(sandbox.messages().length, before);
    }
  });

  test('a Twilio error is reported with its code, exit 1', async () => {
    sandbox.setFaults({ byNumber: { '+14155550123': { createError: 21211 } } });
    try {
      const r = await cli(['test-sms', '--phone', '+14155550123'], sandboxEnv());
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^Error: Twilio error 21211: /m);
      assert.equal(JSON.parse(r.stdout).success, false);
    } finally {
      sandbox.setFaults({});
    }
  });

  test('no option is a usage error (exit 2); --help exits 0', async () => {
    const none = await cli(['test-sms']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: laundryconnect-notify test-sms/);
    const help = await cli(['test-sms', '--help']);
    assert.equal(help.code, 0);
    for (const option of ['--check-config', '--phone', '--message', '--user-email']) {
      assert.ok(help.stdout.includes(option), option);
    }
  });
});

describe('test-sms --user-email', () => {
  let sandbox: TwilioSandbox;
  let database: CliDatabase;
  before(async () => {
    sandbox = await startTwilioSandbox({ accountSid: SID, authToken: TOKEN });
  });
  after(() => sandbox.close());
  const env = () => ({
    ...database.env,
    SMS_BACKEND: 'sandbox',
    SMS_SANDBOX_URL: sandbox.url,
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
  });
  const addUser = (values: {
    email: string;
    externalId?: string;
    phone?: string;
    firstName?: string;
    locale?: string;
  }) => database.use((db) => db.insert(users).values({ externalId: values.email, ...values }));

  test('an unknown email: error, exit 1', async (t) => {
    database = await cliDatabase();
    t.after(() => database.close());
    const r = await cli(['test-sms', '--user-email', 'nobody@example.com'], env());
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'Error: No user with email nobody@example.com');
  });

  test('a user without a phone: the seed Info text, nothing sent, exit 1', async (t) => {
    database = await cliDatabase();
    t.after(() => database.close());
    await addUser({ email: 'user@example.com', firstName: 'Priya' });
    const before = sandbox.messages().length;
    const r = await cli(['test-sms', '--user-email', 'user@example.com'], env());
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'Info: User user@example.com has no phone number. Skipping SMS.');
    assert.equal(sandbox.messages().length, before);
  });

  test('a user with a phone: the order_confirmed SMS in their language is sent', async (t) => {
    database = await cliDatabase();
    t.after(() => database.close());
    // Another user first, so the internal row number (2) differs from anything the marketplace knows.
    await addUser({ email: 'first@example.com' });
    await addUser({
      email: 'asha@example.com',
      externalId: 'cust_8812',
      phone: '+919812345678',
      firstName: 'Asha',
      locale: 'hi',
    });
    const r = await cli(['test-sms', '--user-email', 'Asha@Example.com'], env());
    assert.equal(r.code, 0, r.stderr);
    // The marketplace's id for the user, not the internal row number.
    assert.match(
      r.stdout,
      /^Sending order_confirmed to Asha@Example\.com \(user cust_8812, locale hi\) \(test send: preferences not checked\)$/m,
    );
    const sid = /✓ SMS sent: (SM[0-9a-f]{32})/.exec(r.stdout)?.[1];
    const stored = sandbox.messages().find((m) => m.sid === sid);
    assert.equal(stored?.to, '+919812345678');
    assert.match(stored?.body ?? '', /^LaundryConnect: ऑर्डर #LC240117 कन्फ़र्म हो गया!/);
  });

  test('a user with a malformed phone: the seed error, exit 1', async (t) => {
    database = await cliDatabase();
    t.after(() => database.close());
    await addUser({ email: 'old@example.com', phone: '98765 43210' });
    const r = await cli(['test-sms', '--user-email', 'old@example.com'], env());
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'Error: Invalid phone number format. Must start with + and country code.');
  });
});
