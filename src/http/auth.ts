import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  type ApiKeyIdentity,
  type ApiKeyRole,
  cachedApiKey,
  findApiKey,
  isRegisteredApiKey,
} from '../auth/api-keys.ts';
import { looksLikeJwt, type UserTokens } from '../auth/user-tokens.ts';
import type { Queryable } from '../db/database.ts';
import { AppError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyIdentity;
    /** Set when an end user called with their own token. */
    userToken?: { userId: string };
  }
  interface FastifyInstance {
    /** Per-address count of API keys looked up in the database (server.ts; see checkApiKey). */
    apiKeyLookups: ReturnType<FastifyInstance['createRateLimit']>;
  }
}

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function extractApiKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  const alt = request.headers['x-api-key'];
  return typeof alt === 'string' ? alt.trim() : undefined;
}

/** Methods that change nothing (RFC 9110 §9.2.1): the only ones a viewer key may use. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * An onRequest hook that admits the given roles (admin is admitted everywhere). A viewer key is
 * refused on every state-changing method whatever the route lists, so a new route cannot let one
 * change anything by listing it; it reads only where a route names it.
 */
export function requireApiKey(db: Queryable, roles: readonly ApiKeyRole[] = ['service']) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const key = extractApiKey(request);
    if (!key) throw new AppError('UNAUTHORIZED', 'Send an API key as "Authorization: Bearer <key>"');
    const identity = await checkApiKey(db, key, request, reply);
    if (!identity) throw new AppError('UNAUTHORIZED', 'The API key is not valid');
    if (identity.role === 'viewer' && !SAFE_METHODS.has(request.method)) {
      throw new AppError('FORBIDDEN', 'A viewer key may only read (GET)');
    }
    if (identity.role !== 'admin' && !roles.includes(identity.role)) {
      throw new AppError('FORBIDDEN', `This endpoint needs a key with role ${roles.join(' or ')}`);
    }
    request.apiKey = identity;
  };
}

/**
 * For endpoints that serve both an end user (their token: only their own data) and the backend
 * (an API key: any user, named in the request).
 */
export function requireUserOrApiKey(db: Queryable, tokens: UserTokens) {
  const apiKeyCheck = requireApiKey(db);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const bearer = extractApiKey(request);
    if (bearer && looksLikeJwt(bearer)) {
      request.userToken = { userId: await tokens.verify(bearer) };
      return;
    }
    await apiKeyCheck(request, reply);
  };
}

/**
 * Guessing keys means sending unknown ones, and each unknown key costs a database query (a valid
 * key is looked up once, then cached). So an address may have `RATE_LIMIT_PER_MINUTE` keys looked
 * up per minute, counted before the lookup runs so parallel guesses cannot get past the count. Once
 * that is spent, its unknown keys are refused with 429 without a query, but a valid key never is:
 * a cached key passes at once, an uncached one is checked against the in-memory set of registered
 * key hashes first (api-keys.ts). So 6,000 guesses from an office's shared address, or a client
 * behind a proxy spending another address's bucket through X-Forwarded-For, cannot lock the real
 * key out. The trade-off: a guess that hits a real key is let in even from a spent address. Keys
 * carry 192 random bits, so no rate of guessing finds one; the limit protects the database, not
 * the key space.
 */
async function checkApiKey(
  db: Queryable,
  key: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<ApiKeyIdentity | undefined> {
  const cached = cachedApiKey(db, key);
  if (cached) return cached;
  const lookups = await request.server.apiKeyLookups(request);
  if (!lookups.isAllowed && lookups.isExceeded && !(await isRegisteredApiKey(db, key))) {
    void reply.header('retry-after', lookups.ttlInSeconds);
    throw new AppError(
      'RATE_LIMITED',
      `Too many unknown API keys from this address; retry in ${lookups.ttlInSeconds} s`,
    );
  }
  return findApiKey(db, key);
}

/**
 * Whose data a request is about: a user token's own id (naming another user is a 404, as if it did
 * not exist), or with an API key the `user_id` the caller named.
 */
export function targetUserId(request: FastifyRequest, named: string | undefined): string {
  if (request.userToken) {
    if (named !== undefined && named !== request.userToken.userId) {
      throw new AppError('USER_NOT_FOUND', `No user with id "${named}"`);
    }
    return request.userToken.userId;
  }
  if (!named) throw new AppError('VALIDATION_FAILED', 'Name the user with the user_id query parameter');
  return named;
}
