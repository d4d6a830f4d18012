import { randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { getOrCreateSetting } from '../auth/service-settings.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { ME_PATH } from './session.ts';

/** The pages a link may open. */
export const LINK_PAGES = ['preferences', 'inbox'] as const;
export type LinkPage = (typeof LINK_PAGES)[number];

/**
 * A link the backend asks for sits in an SMS or email sent now, which can be forwarded or read over
 * a shoulder: good for a quarter of an hour, long enough to tap it, short enough that an old message
 * opens nothing. Links this service puts in its own emails (the digest's footer) live longer
 * (ME_EMAIL_LINK_TTL_HOURS): an email is often read hours later.
 */
export const LINK_TTL_SECONDS = 15 * 60;

const ALGORITHM = 'HS256';
const AUDIENCE = 'laundryconnect-notify/me-link';

/**
 * The signed links that open the end-user pages (`/me/open?token=…`, docs/end-user-pages.md). Their
 * key is their own (the `me_link_secret` setting, shared by every process through the database),
 * never the user-token key: a link token is not a user token, so a link copied from a message
 * cannot call the API, and a user token is not a link. It only starts a page session.
 */
export class LinkTokens {
  readonly #key: Uint8Array;
  readonly #now: () => number;

  constructor(secret: string, now: () => number) {
    this.#key = new TextEncoder().encode(secret);
    this.#now = now;
  }

  static async create(db: Db, now: () => number): Promise<LinkTokens> {
    const secret = await getOrCreateSetting(db, 'me_link_secret', () =>
      randomBytes(32).toString('base64url'),
    );
    return new LinkTokens(secret, now);
  }

  async issue(
    userId: string,
    page: LinkPage,
    ttlSeconds = LINK_TTL_SECONDS,
  ): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = this.#now();
    const expiresAt = new Date(issuedAt + ttlSeconds * 1000);
    const token = await new SignJWT({ page })
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(userId)
      .setAudience(AUDIENCE)
      .setIssuedAt(Math.floor(issuedAt / 1000))
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.#key);
    return { token, expiresAt };
  }

  /** The URL under `baseUrl` that opens `page` for `userId` (external id). */
  async url(
    baseUrl: string,
    userId: string,
    page: LinkPage,
    ttlSeconds = LINK_TTL_SECONDS,
  ): Promise<{ url: string; expiresAt: Date }> {
    const { token, expiresAt } = await this.issue(userId, page, ttlSeconds);
    return { url: `${baseUrl.replace(/\/+$/, '')}${ME_PATH}/open?token=${token}`, expiresAt };
  }

  /** Whose pages the link opens, and which; a 401 naming what is wrong for any other token. */
  async verify(token: string): Promise<{ userId: string; page: LinkPage }> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: [ALGORITHM],
        audience: AUDIENCE,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(this.#now()),
      });
      const page = LINK_PAGES.find((p) => p === payload['page']);
      if (!payload.sub || !page) throw new Error('incomplete claims');
      return { userId: payload.sub, page };
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new AppError(
        'UNAUTHORIZED',
        expired
          ? 'This link has expired: links to your notification pages work for a limited time. Open the newest message, or ask for a new link.'
          : 'This link is not valid: it may have been cut short when it was copied. Open it again from the message.',
      );
    }
  }
}
