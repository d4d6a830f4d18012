import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { ENGINE } from '../helpers/test-db.ts';
import { ADMIN_KEY, call, type SecurityApp, startSecurityApp } from '../security/helpers.ts';

describe('TRUST_PROXY', () => {
  test('parses false, true, a hop count or addresses, and refuses anything else clearly', () => {
    const parse = (TRUST_PROXY: string) => loadConfig({ TRUST_PROXY }).TRUST_PROXY;
    assert.equal(loadConfig({}).TRUST_PROXY, false);
    assert.equal(parse('false'), false);
    assert.equal(parse('true'), true);
    assert.equal(parse('2'), 2);
    assert.deepEqual(parse('127.0.0.1, 10.0.0.0/8,::1,fd00::/8'), [
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
    ]);
    for (const bad of ['yes', '10.0.0.0/33', '::1/129', 'proxy.internal', '10.0.0.1/8/1', '1.2.3.4,']) {
      assert.throws(
        () => parse(bad),
        (err: unknown) =>
          err instanceof ConfigError && /TRUST_PROXY: .* is not an address or CIDR range/.test(err.message),
        bad,
      );
    }
  });
});

/** Sends `n` unknown keys as the client `forwardedFor` and returns the statuses. */
async function guesses(url: string, forwardedFor: (i: number) => string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await call(url, 'GET', '/api/v1/users/nobody', {
      key: `lcn_svc_guess_${i}`,
      headers: { 'x-forwarded-for': forwardedFor(i) },
    });
    statuses.push(res.status);
  }
  return statuses;
}

const LIMIT = 10;

describe(`rate limits by client address (${ENGINE})`, () => {
  describe('without TRUST_PROXY', () => {
    let s: SecurityApp;
    before(async () => {
      s = await startSecurityApp({ LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    });
    after(() => s.close());

    test('a client cannot escape its bucket by forging X-Forwarded-For', async () => {
      const statuses = await guesses(s.url, (i) => `203.0.113.${i + 1}`, LIMIT + 3);
      assert.deepEqual(statuses.slice(LIMIT), [429, 429, 429]);
    });
  });

  describe('with TRUST_PROXY naming the proxy (here the loopback address the test connects from)', () => {
    let s: SecurityApp;
    before(async () => {
      s = await startSecurityApp({
        LOG_LEVEL: 'silent',
        RATE_LIMIT_PER_MINUTE: String(LIMIT),
        TRUST_PROXY: '127.0.0.1',
      });
    });
    after(() => s.close());

    test('each client behind the proxy has its own bucket', async () => {
      const a = await guesses(s.url, () => '203.0.113.7', LIMIT + 1);
      assert.equal(a.at(-1), 429, 'the guessing client is refused');
      const other = await call(s.url, 'GET', '/api/v1/users/nobody', {
        key: ADMIN_KEY,
        headers: { 'x-forwarded-for': '198.51.100.9' },
      });
      assert.equal(other.status, 404, 'another client behind the same proxy is not');
    });
  });
});
