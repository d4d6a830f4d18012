import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { ISSUER, UserTokens } from '../../src/auth/user-tokens.ts';
import { AppError } from '../../src/errors.ts';

const SECRET = 'a-test-secret-that-is-at-least-32-characters';
const NOW = Date.parse('2026-06-01T12:00:00Z');
const nowSeconds = Math.floor(NOW / 1000);
const tokens = new UserTokens(SECRET, { maxTtlSeconds: 86_400, now: () => NOW });

function sign(claims: { iat?: number; exp?: number }): Promise<string> {
  const jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setIssuer(ISSUER);
  if (claims.iat !== undefined) jwt.setIssuedAt(claims.iat);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  return jwt.sign(new TextEncoder().encode(SECRET));
}

async function refused(token: string): Promise<void> {
  await assert.rejects(tokens.verify(token), (err) => err instanceof AppError && err.code === 'UNAUTHORIZED');
}

test('a token within the maximum lifetime is accepted, one issued here too', async () => {
  assert.equal(await tokens.verify(await sign({ iat: nowSeconds, exp: nowSeconds + 3600 })), 'u1');
  assert.equal(await tokens.verify((await tokens.issue('u1', 86_400)).token), 'u1');
});

test('a token without exp is refused', async () => {
  await refused(await sign({ iat: nowSeconds }));
});

test('a token whose lifetime exceeds the maximum is refused, with or without iat', async () => {
  await refused(await sign({ iat: nowSeconds, exp: nowSeconds + 10 * 365 * 86_400 }));
  await refused(await sign({ iat: nowSeconds - 60, exp: nowSeconds + 86_400 }));
  await refused(await sign({ exp: nowSeconds + 86_401 }));
  assert.equal(await tokens.verify(await sign({ exp: nowSeconds + 86_400 })), 'u1');
});

test('expiry is judged by the injected clock', async () => {
  await refused(await sign({ iat: nowSeconds - 7200, exp: nowSeconds - 3600 }));
});
