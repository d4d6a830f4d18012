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

export class UserTokens {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  static async create(db: Db, configured: string | undefined): Promise<UserTokens> {
    const secret =
      configured ??
      (await getOrCreateSetting(db, 'user_token_secret', () => randomBytes(32).toString('base64url')));
    return new UserTokens(secret);
  }

  async issue(userExternalId: string, ttlSeconds: number): Promise<{ token: string; expiresAt: Date }> {
    const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(userExternalId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.#key);
    return { token, expiresAt };
  }

  /** The user id a valid token names; a clear 401 for an expired, forged or malformed one. */
  async verify(token: string): Promise<string> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: [ALGORITHM], issuer: ISSUER });
      if (!payload.sub) throw new Error('no subject');
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
