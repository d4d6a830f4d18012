import type { LinkTokens } from './link-tokens.ts';

export interface SettingsLinkOptions {
  /** NOTIFICATION_SETTINGS_URL: the marketplace's own settings page, when it has one. */
  configured: string | undefined;
  links: LinkTokens;
  /** Where this service is reached (PUBLIC_URL, or the address it listens on). */
  baseUrl: () => string;
  /** ME_EMAIL_LINK_TTL_HOURS, in seconds: an email's link must still work when it is read. */
  ttlSeconds: number;
}

/**
 * Where an email or page sends a user to manage their notifications (the digest's footer, the
 * unsubscribe page): the marketplace's own page when NOTIFICATION_SETTINGS_URL names one, otherwise
 * a signed link that opens this user's preference centre here (docs/end-user-pages.md).
 */
export class SettingsLinks {
  readonly #o: SettingsLinkOptions;

  constructor(options: SettingsLinkOptions) {
    this.#o = options;
  }

  async forUser(externalUserId: string): Promise<string> {
    if (this.#o.configured) return this.#o.configured;
    const { url } = await this.#o.links.url(
      this.#o.baseUrl(),
      externalUserId,
      'preferences',
      this.#o.ttlSeconds,
    );
    return url;
  }

  /** For a page that does not know the user (a broken unsubscribe link): the configured page, or none. */
  get anyUser(): string | undefined {
    return this.#o.configured;
  }
}
