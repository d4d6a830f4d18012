/**
 * Where tracked links point and what they may lead to, for the renders that have no sending
 * channel to ask: template previews and the lint (the SMS channel asks here too, so a preview shows
 * the link a send makes). Set by the composition root from config (TRACKED_LINK_HOSTS, PUBLIC_URL);
 * the newest running app's settings apply, as with the render pool.
 */
import { SITE } from '../catalog/catalog.ts';
import { defaultLinkHosts, type LinkRequest } from './tracked-link.ts';

export interface LinkSettings {
  /** PUBLIC_URL, or the API's address once it listens (undefined until then). */
  base: () => string | undefined;
  hosts: readonly string[];
}

/** The service's default listen address: what links show before any app set its own. */
const DEFAULT_BASE = 'http://127.0.0.1:3000';

const active: LinkSettings[] = [];

/** Makes `settings` the ones renders use; the function returned takes them back (on close). */
export function useLinkSettings(settings: LinkSettings): () => Promise<void> {
  active.push(settings);
  return async () => {
    const at = active.indexOf(settings);
    if (at !== -1) active.splice(at, 1);
  };
}

/** The TRACKED_LINK_HOSTS setting, or the default (PUBLIC_URL's host and the catalog's site). */
export function linkHosts(
  configured: readonly string[] | undefined,
  publicUrl: string | undefined,
): string[] {
  return configured && configured.length > 0
    ? configured.map((h) => h.toLowerCase())
    : defaultLinkHosts(publicUrl, SITE);
}

/** What a render's `track` may do now; `reuse`: a delivery's stored links (target → id). */
export function linkRequest(reuse?: Record<string, string>): LinkRequest {
  const settings = active.at(-1);
  const base = (settings?.base() ?? DEFAULT_BASE).replace(/\/+$/, '');
  return {
    base,
    hosts: settings?.hosts ?? linkHosts(undefined, undefined),
    ...(reuse ? { reuse } : {}),
  };
}
