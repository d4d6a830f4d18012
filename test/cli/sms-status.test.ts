import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { createTwilioClient } from '../../src/channels/sms/twilio-http-client.ts';
import { startTwilioSandbox, type TwilioSandbox } from '../../src/sandbox/server.ts';
import { BIN, cli } from './helpers.ts';

const SID = `AC${'5678ef01'.repeat(4)}`;
const TOKEN = 'c0ffeec0ffeec0ffeec0ffeec0ffee00';

describe('sms status', () => {
  let sandbox: TwilioSandbox;
  before(async () => {
    sandbox = await startTwilioSandbox({ accountSid: SID, authToken: TOKEN, stepMs: 10 });
  });
  after(() => sandbox.close());
  const env = () => ({
    SMS_BACKEND: 'sandbox',
    SMS_SANDBOX_URL: sandbox.url,
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
  });

  test("prints a sandbox message's status as the seed's JSON", async () => {
    const client = createTwilioClient({
      accountSid: SID,
      authToken: TOKEN,
      baseUrl: sandbox.url,
      timeoutMs: 5_000,
    });
    const created = await client.messages.create({
      to: '+919876543210',
      from: '+15005550006',
      body: 'LaundryConnect: status test',
    });
    // stepMs 10: queued → sending → sent → delivered is over long before the CLI asks.
    const r = await cli(['sms', 'status', created.sid], env());
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout);
    assert.equal(status.sid, created.sid);
    assert.equal(status.status, 'delivered');
    assert.equal(status.to, '+919876543210');
    assert.equal(status.from, '+15005550006');
    assert.equal(status.error_code, null);
    assert.equal(status.error_message, null);
    for (const key of ['price', 'price_unit', 'num_segments', 'date_sent', 'date_updated']) {
      assert.ok(key in status, key);
    }
  });

  test('an unknown SID: the Twilio error, exit 1', async () => {
    const r = await cli(['sms', 'status', `SM${'0'.repeat(32)}`], env());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: Twilio error 20404: /m);
    assert.equal(r.stdout, '');
  });

  test('without a sandbox URL or Twilio credentials it explains what to set, exit 1', async () => {
    const r = await cli(['sms', 'status', `SM${'0'.repeat(32)}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error: SMS service not configured for status lookups: set SMS_SANDBOX_URL/);
  });

  test('usage errors exit 2; --help documents where it asks and exits 0', async () => {
    assert.equal((await cli(['sms'])).code, 2);
    assert.equal((await cli(['sms', 'status'])).code, 2);
    assert.equal((await cli(['sms', 'status', '../../etc'])).code, 2);
    assert.equal((await cli(['sms', 'resend', 'x'])).code, 2);
    const help = await cli(['sms', 'status', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: laundryconnect-notify sms status <message-sid>/);
    assert.match(help.stdout, /SMS_SANDBOX_URL/);
    assert.match(help.stdout, /TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/);
  });
});

describe('sandbox', () => {
  test('is in the command table: --help exits 0 with its usage', async () => {
    const r = await cli(['sandbox', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: laundryconnect-notify sandbox/);
  });

  test('runs alone until SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'sandbox', '--port', '0'], {
      env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 15_000;
      while (!/listening on (http:\S+)/.test(out) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      const url = /listening on (http:\S+)/.exec(out)?.[1];
      assert.ok(url, out);
      const stats = await fetch(`${url}/sandbox/stats`);
      assert.equal(stats.status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
