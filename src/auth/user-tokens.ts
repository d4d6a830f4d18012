import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { getOrCreateSetting } from './service-settings.ts';

/**
 * End users (customers, partners) authenticate with short-lived JWTs (HS256, `sub` = the
 * marketplace's user id). Either the marketplace backend signs them with the shared
 * USER_TOKEN_SECRET, or it asks this service to issue one (POST /api/v1/users/{id}/token).
 * Without a configured secret one is generated on first start and kept in the database.
 */
export const ISSUER = 'laundryconnect-notify';
const ALGORITHM = 'HS256';

export interface UserTokenOptions {
  /**
   * The longest lifetime a token may claim (`exp - iat`, or `exp - now` without `iat`): a token
   * without `exp` or with a far one would keep a WebSocket open for good.
   */
  maxTtlSeconds: number;
  /** Milliseconds since the epoch; injected so tests can move time. */
  now?: () => number;
}

export class UserTokens {
  readonly #key: Uint8Array;
  readonly #maxTtlSeconds: number;
  readonly #now: () => number;

  constructor(secret: string, options: UserTokenOptions) {
    this.#key = new TextEncoder().encode(secret);
    this.#maxTtlSeconds = options.maxTtlSeconds;
    this.#now = options.now ?? Date.now;
  }

  static async create(
    db: Db,
    configured: string | undefined,
    options: UserTokenOptions,
  ): Promise<UserTokens> {
    const secret =
      configured ??
      (await getOrCreateSetting(db, 'user_token_secret', () => randomBytes(32).toString('base64url')));
    return new UserTokens(secret, options);
  }

  async issue(userExternalId: string, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = this.#now();
    const expiresAt = new Date(issuedAt + ttlSeconds * 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(userExternalId)
      .setIssuer(ISSUER)
      .setIssuedAt(Math.floor(issuedAt / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.#key);
    return { token, expiresAt };
  }

  /** The user id a valid token names; a clear 401 for an expired, forged or malformed one. */
  async verify(token: string): Promise<string> {
    try {
      const now = this.#now();
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        requiredClaims: ['exp'],
        currentDate: new Date(now),
      });
      if (!payload.sub) throw new Error('no subject');
      const from = payload.iat ?? Math.floor(now / 1000);
      if ((payload.exp as number) - from > this.#maxTtlSeconds) throw new Error('lifetime too long');
      return payload.sub;
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new AppError(
        'UNAUTHORIZED',
        expired ? 'The user token has expired' : 'The user token is not valid',
      );
    }
  }
}

/** JWTs have three dot-separated parts; API keys (`lcn_…`) have none. */
export function looksLikeJwt(token: string): boolean {
  return token.split('.').length === 3;
}
