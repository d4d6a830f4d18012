export interface SettingsLinkOptions {
  /** NOTIFICATION_SETTINGS_URL: the marketplace's own settings page, when it has one. */
  configured: string | undefined;
  /**
   * A signed link to this user's preference centre (the end-user pages' LinkTokens, wired by the
   * composition root: auth/ sits below the pages, so it is handed the signer, not the pages' module).
   */
  signedLink: (externalUserId: string) => Promise<string>;
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
    return this.#o.signedLink(externalUserId);
  }

  /** For a page that does not know the user (a broken unsubscribe link): the configured page, or none. */
  get anyUser(): string | undefined {
    return this.#o.configured;
  }
}
