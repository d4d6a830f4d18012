/**
 * The `track` template filter's rules, pure (docs/tracked-links.md): which targets may be tracked,
 * what a short link looks like, and what a render asks of the filter. Loaded by every render thread,
 * which has no database: the filter only makes ids and collects `{id, target}`; the SMS channel
 * stores them (link-store.ts) before the message that carries them is sent.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';

/** The path a short link is served at: `${base}/l/<id>`. */
export const LINK_PATH = '/l/';

/**
 * 9 random bytes are 72 bits (unguessable), 12 base64url characters: every one GSM-7, so a link
 * never turns an SMS into UCS-2. With a 33-character PUBLIC_URL a link is 48 characters.
 */
const ID_BYTES = 9;
export const LINK_ID_PATTERN = /^[A-Za-z0-9_-]{12}$/;

export function newLinkId(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

export interface TrackedLink {
  id: string;
  target: string;
}

/**
 * What one render lets `track` do. The ids it makes come back with the text: a send stores them
 * (link-store.ts) and `reuse` (target → id, the delivery's stored links) gives an earlier attempt's
 * ids back, so a retry sends the same text; a preview or the lint stores nothing, so its link has
 * the real form and length but leads nowhere.
 */
export interface LinkRequest {
  /** PUBLIC_URL (or the API's listen address), no trailing slash. */
  base: string;
  /** Hosts a target may have (lowercase); TRACKED_LINK_HOSTS or its default. */
  hosts: readonly string[];
  reuse?: Readonly<Record<string, string>>;
}

/** The target as stored and redirected to, or TEMPLATE_LINK_NOT_ALLOWED saying why not. */
export function allowedTarget(value: unknown, hosts: readonly string[]): string {
  const raw = typeof value === 'string' ? value.trim() : '';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw linkRefused(`"${String(value)}" is not a URL`, raw);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw linkRefused(`only http and https links can be tracked, not ${url.protocol}`, raw);
  if (url.username || url.password) throw linkRefused('a tracked link carries no credentials', raw);
  if (!hosts.includes(url.hostname.toLowerCase()))
    throw linkRefused(`${url.hostname} is not an allowed link host (${hosts.join(', ')})`, raw);
  return url.href;
}

function linkRefused(reason: string, target: string): AppError {
  return new AppError('TEMPLATE_LINK_NOT_ALLOWED', `Tracked link refused: ${reason}`, { reason, target });
}

/**
 * The hosts tracked links may lead to when TRACKED_LINK_HOSTS is unset: the service's own (its
 * pages) and the marketplace site the catalog's links point at.
 */
export function defaultLinkHosts(publicUrl: string | undefined, siteUrl: string): string[] {
  const hosts = [new URL(siteUrl).hostname];
  if (publicUrl) hosts.unshift(new URL(publicUrl).hostname);
  return [...new Set(hosts.map((h) => h.toLowerCase()))];
}

/**
 * One render's link maker: `track(value)` is what the filter prints. Within a render the same target
 * gets the same link (one row per delivery × target).
 */
export class LinkSession {
  readonly made: TrackedLink[] = [];
  readonly #request: LinkRequest;

  constructor(request: LinkRequest) {
    this.#request = request;
  }

  track(value: unknown): string {
    return this.link(allowedTarget(value, this.#request.hosts));
  }

  /** The short link of a target its caller has already checked (an MMS's media, docs/mms.md). */
  link(target: string): string {
    let link = this.made.find((l) => l.target === target);
    if (!link) {
      link = { id: this.#request.reuse?.[target] ?? newLinkId(), target };
      this.made.push(link);
    }
    return `${this.#request.base}${LINK_PATH}${link.id}`;
  }
}
