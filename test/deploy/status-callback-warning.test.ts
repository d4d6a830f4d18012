import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';

// Credentials in Twilio's shape; nothing is sent (API node only), so they never leave the process.
const TWILIO = {
  SMS_BACKEND: 'twilio',
  TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'a-test-auth-token-not-real',
  TWILIO_PHONE_NUMBER: '+15005550006',
};

/** Start an API node with `env` and return the warn records its start logged. */
async function startupWarnings(env: Record<string, string>): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(line) });
  const t = await createTestDatabase();
  try {
    const app = await startApp({
      config: testConfig({ PORT: '0', ADMIN_API_KEY: 'lcn_test_callback_warning', ...env }),
      api: true,
      worker: false,
      database: t.database,
      logger,
    });
    await app.close();
  } finally {
    await t.close();
  }
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r['level'] === 40);
}

const aboutCallback = (records: Array<Record<string, unknown>>) =>
  records.filter((r) => /status callback URL/.test(String(r['msg'])));

describe(`start-up warning for an insecure Twilio status callback (${ENGINE})`, () => {
  test('real Twilio with an http PUBLIC_URL: warned once, naming PUBLIC_URL, the token never logged', async () => {
    const records = await startupWarnings({ ...TWILIO, PUBLIC_URL: 'http://notify.example.com' });
    const warned = aboutCallback(records);
    assert.equal(warned.length, 1, JSON.stringify(records));
    assert.match(String(warned[0]!['msg']), /http:\/\/ status callback URL.*PUBLIC_URL/);
    assert.equal(warned[0]!['statusCallbackUrl'], 'http://notify.example.com/api/sms/status-callback/');
    assert.ok(!JSON.stringify(records).includes(TWILIO.TWILIO_AUTH_TOKEN));
  });

  test('an https PUBLIC_URL but an http TWILIO_STATUS_CALLBACK_URL is warned about', async () => {
    const records = await startupWarnings({
      ...TWILIO,
      PUBLIC_URL: 'https://notify.example.com',
      TWILIO_STATUS_CALLBACK_URL: 'http://callbacks.example.com/twilio',
    });
    assert.equal(aboutCallback(records).length, 1, JSON.stringify(records));
  });

  test('no PUBLIC_URL: the API node falls back to its http listen address, which is warned about', async () => {
    const warned = aboutCallback(await startupWarnings(TWILIO));
    assert.equal(warned.length, 1);
    assert.match(String(warned[0]!['statusCallbackUrl']), /^http:\/\/127\.0\.0\.1:\d+\//);
  });

  test('https callbacks, and the local sandbox over http, start without the warning', async () => {
    assert.deepEqual(
      aboutCallback(await startupWarnings({ ...TWILIO, PUBLIC_URL: 'https://notify.example.com' })),
      [],
    );
    assert.deepEqual(
      aboutCallback(await startupWarnings({ SMS_BACKEND: 'sandbox', PUBLIC_URL: 'http://localhost:3000' })),
      [],
    );
  });
});
