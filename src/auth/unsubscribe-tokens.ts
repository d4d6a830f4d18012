import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Category } from '../catalog/catalog.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { getOrCreateSetting } from './service-settings.ts';

/** Where the one-click links point (src/http/routes/unsubscribe.ts); the token follows. */
export const UNSUBSCRIBE_PATH = '/unsubscribe/';

/**
 * Longer than an inbox keeps a newsletter in view and three times what CAN-SPAM asks (30 days);
 * past it the link answers 400 and the email's settings link still works.
 */
export const UNSUBSCRIBE_TOKEN_TTL_SECONDS = 90 * 24 * 3600;

/**
 * One letter per category, part of every link already sent: never reuse or change one. Typed over
 * Category, so a new category cannot be forgotten.
 */
const CATEGORY_CODES: Readonly<Record<Category, string>> = {
  order_updates: 'o',
  payment_updates: 'p',
  account: 'a',
  partner: 'r',
  promotions: 'm',
};
const CATEGORY_OF = new Map(
  Object.entries(CATEGORY_CODES).map(([category, code]) => [code, category as Category]),
);

export interface Unsubscribe {
  /** The user's internal id: a deleted user's link never reaches a new user with the same external id. */
  userId: number;
  categories: Category[];
}

/**
 * Signed links for RFC 8058 one-click unsubscribe: `<user>.<categories>.<expiry>.<HMAC-SHA256>`,
 * about 60 characters, so the link fits a path segment and a header line. The key is its own,
 * generated once and kept in the database (every process shares it), never the user-token key: a
 * link in an email must not be usable as a login. Deleting the `unsubscribe_secret` setting (and
 * restarting) revokes every link sent.
 */
export class UnsubscribeTokens {
  readonly #key: Buffer;
  readonly #now: () => number;

  constructor(secret: string, now: () => number = Date.now) {
    this.#key = Buffer.from(secret);
    this.#now = now;
  }

  static async create(db: Db, now?: () => number): Promise<UnsubscribeTokens> {
    const secret = await getOrCreateSetting(db, 'unsubscribe_secret', () =>
      randomBytes(32).toString('base64url'),
    );
    return new UnsubscribeTokens(secret, now);
  }

  /** The link (`<baseUrl>/unsubscribe/<token>`) that turns off email for `categories`. */
  link(baseUrl: string, unsubscribe: Unsubscribe): string {
    const expires = Math.floor(this.#now() / 1000) + UNSUBSCRIBE_TOKEN_TTL_SECONDS;
    const codes = [...new Set(unsubscribe.categories.map((c) => CATEGORY_CODES[c]))].sort().join('');
    const payload = `${unsubscribe.userId.toString(36)}.${codes}.${expires.toString(36)}`;
    return `${baseUrl.replace(/\/+$/, '')}${UNSUBSCRIBE_PATH}${payload}.${this.#mac(payload).toString('base64url')}`;
  }

  /** What a valid token unsubscribes; a 400 for a forged, tampered, expired or malformed one. */
  verify(token: string): Unsubscribe {
    const parts = token.split('.');
    const mac = Buffer.from(parts.pop() ?? '', 'base64url');
    const payload = parts.join('.');
    const expected = this.#mac(payload);
    if (parts.length !== 3 || mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
      throw new AppError('UNSUBSCRIBE_LINK_INVALID', 'This unsubscribe link is not valid');
    }
    const [user, codes, expires] = parts as [string, string, string];
    if (Number.parseInt(expires, 36) * 1000 <= this.#now()) {
      throw new AppError('UNSUBSCRIBE_LINK_INVALID', 'This unsubscribe link has expired');
    }
    const categories = [...codes].map((code) => CATEGORY_OF.get(code));
    if (categories.length === 0 || categories.some((c) => c === undefined)) {
      // Signed by us, so only a code retired since: refuse rather than guess.
      throw new AppError('UNSUBSCRIBE_LINK_INVALID', 'This unsubscribe link is not valid');
    }
    return { userId: Number.parseInt(user, 36), categories: categories as Category[] };
  }

  #mac(payload: string): Buffer {
    return createHmac('sha256', this.#key).update(`list-unsubscribe:${payload}`).digest();
  }
}
