import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '../errors.ts';

/**
 * SSRF guard: a webhook URL is a request the service makes on an API key holder's behalf, so it
 * must not reach the service's own network. Only http(s), and every address the host resolves to
 * must be public unicast (ipaddr.js `range()`): private, loopback, link-local, unique-local,
 * multicast, unspecified, carrier-grade NAT and the reserved ranges are refused. Checked when an
 * endpoint is registered and again on every connection (DNS can change between the two), through
 * the socket's own `lookup`, so the address checked is the address connected to.
 */

/** Why a target is refused, in words an operator can act on (never a secret). */
export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

/** The range name when `address` is not public unicast, else undefined. IPv4-mapped IPv6 is judged as IPv4. */
export function refusedRange(address: string): string | undefined {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  return range === 'unicast' ? undefined : range;
}

function checkAddress(host: string, address: string): void {
  const range = refusedRange(address);
  if (range) throw new TargetRefused(`${host} is a ${range} address (${address}): only public addresses`);
}

/** The URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function resolveAll(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );
}

/**
 * Registration's check (the API answers WEBHOOK_TARGET_REFUSED): the scheme, then every address
 * the host has now. With `allowPrivate` only the scheme is checked.
 */
export async function checkWebhookTarget(raw: string, allowPrivate: boolean): Promise<void> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('WEBHOOK_TARGET_REFUSED', `"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new AppError('WEBHOOK_TARGET_REFUSED', `Only http and https URLs, not ${url.protocol}`);
  if (url.username || url.password)
    throw new AppError('WEBHOOK_TARGET_REFUSED', 'No credentials in the URL: the signature authenticates us');
  if (allowPrivate) return;
  const host = hostOf(url);
  try {
    if (ipaddr.isValid(host)) checkAddress(host, host);
    else for (const a of await resolveAll(host)) checkAddress(host, a.address);
  } catch (err) {
    if (err instanceof TargetRefused) throw new AppError('WEBHOOK_TARGET_REFUSED', err.message);
    throw new AppError('WEBHOOK_TARGET_REFUSED', `${host} does not resolve (${(err as Error).message})`);
  }
}

/** Send-time check of an IP-literal host (Node's sockets do not call `lookup` for those). */
export function checkLiteralHost(url: URL, allowPrivate: boolean): void {
  const host = hostOf(url);
  if (!allowPrivate && ipaddr.isValid(host)) checkAddress(host, host);
}

/** A socket `lookup` that refuses a connection to any non-public address the name resolves to. */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      try {
        if (!allowPrivate) for (const a of addresses) checkAddress(hostname, a.address);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
