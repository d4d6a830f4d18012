/**
 * The sender a Messaging Service picks from its number pool. Twilio keeps one recipient on one
 * sender ("sticky sender"), so the choice is a hash of the recipient: the same `To` always gets the
 * same number, and tests can predict it.
 */
import { createHash } from 'node:crypto';

/** Messaging Service sid (MG…) -> its senders, E.164. */
export type SenderPools = Record<string, readonly string[]>;

function hashIndex(value: string, size: number): number {
  return createHash('sha1').update(value).digest().readUInt32BE(0) % size;
}

/** A service without a configured pool gets one fictional number (+1 202 555 01xx) of its own. */
function defaultSender(serviceSid: string): string {
  return `+120255501${String(hashIndex(serviceSid, 100)).padStart(2, '0')}`;
}

export function senderFor(pools: SenderPools, serviceSid: string, to: string): string {
  const pool = pools[serviceSid];
  if (pool === undefined || pool.length === 0) return defaultSender(serviceSid);
  return pool[hashIndex(to, pool.length)]!;
}
