import { createHash, randomBytes } from 'node:crypto';
import { and, count, eq, isNull, sql } from 'drizzle-orm';
import type { Db, Queryable } from '../db/database.ts';
import { apiKeys } from '../db/schema.ts';

export const API_KEY_ROLES = ['admin', 'service', 'viewer'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

const KEY_PREFIX: Record<ApiKeyRole, string> = { admin: 'adm', service: 'svc', viewer: 'vwr' };

/**
 * API keys for the marketplace backend (service), operators (admin) and people who may only look
 * (viewer: GET requests, never a change; http/auth.ts enforces it). Only a SHA-256 hash is
 * stored: keys are long random strings, so a slow password hash would add latency and no security.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export async function createApiKey(
  q: Queryable,
  name: string,
  role: ApiKeyRole,
  key?: string,
): Promise<string> {
  const plain = key ?? `lcn_${KEY_PREFIX[role]}_${randomBytes(24).toString('base64url')}`;
  await insertKey(q, name, role, plain);
  return plain;
}

/** False when the key was registered already (by a process that started at the same moment). */
async function insertKey(q: Queryable, name: string, role: ApiKeyRole, plain: string): Promise<boolean> {
  const inserted = await q
    .insert(apiKeys)
    .values({ name, role, prefix: plain.slice(0, 12), keyHash: hashApiKey(plain) })
    .onConflictDoNothing({ target: apiKeys.keyHash })
    .returning({ id: apiKeys.id });
  knownHashes = new WeakMap();
  return inserted.length > 0;
}

export interface ApiKeyIdentity {
  id: number;
  name: string;
  role: ApiKeyRole;
}

/**
 * Known keys are remembered for a short while (per database) so an API request does not pay a
 * query for its key; unknown keys are always looked up, so a new key works at once. A revoked key
 * can therefore still pass for up to KEY_CACHE_MS.
 */
const KEY_CACHE_MS = 30_000;
const keyCache = new WeakMap<Queryable, Map<string, { identity: ApiKeyIdentity; until: number }>>();

/** The identity of a key found valid in the last KEY_CACHE_MS, without a query; else undefined. */
export function cachedApiKey(q: Queryable, key: string): ApiKeyIdentity | undefined {
  const hit = keyCache.get(q)?.get(hashApiKey(key));
  return hit && hit.until > Date.now() ? hit.identity : undefined;
}

export async function findApiKey(q: Queryable, key: string): Promise<ApiKeyIdentity | undefined> {
  const cached = cachedApiKey(q, key);
  if (cached) return cached;
  const hash = hashApiKey(key);
  let cache = keyCache.get(q);
  if (!cache) {
    cache = new Map();
    keyCache.set(q, cache);
  }
  const identity = await lookupApiKey(q, hash);
  if (identity) cache.set(hash, { identity, until: Date.now() + KEY_CACHE_MS });
  else cache.delete(hash);
  return identity;
}

async function lookupApiKey(q: Queryable, hash: string): Promise<ApiKeyIdentity | undefined> {
  const [row] = await q
    .select({ id: apiKeys.id, name: apiKeys.name, role: apiKeys.role })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyHash, hash), isNull(apiKeys.revokedAt)));
  return row ? { id: row.id, name: row.name, role: row.role as ApiKeyRole } : undefined;
}

/**
 * First start: make sure an admin key exists. A key from ADMIN_API_KEY is registered (idempotently)
 * and never returned: the operator has it already, and printing it would put a secret in the logs.
 * Otherwise, with no admin key yet, one is generated and returned so it can be printed once.
 * Returns undefined unless a key was generated.
 */
export async function ensureAdminKey(db: Db, configured: string | undefined): Promise<string | undefined> {
  if (configured) {
    // Two processes starting together on one database both get here: the second must not fail.
    if (!(await findApiKey(db, configured)))
      await insertKey(db, 'admin (from ADMIN_API_KEY)', 'admin', configured);
    return undefined;
  }
  // Two processes starting together on an empty database would each see no admin key and each
  // generate one; the lock (held to the end of the transaction) lets the second see the first's.
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('lc_first_admin_key'))`);
    const [row] = await tx
      .select({ n: count() })
      .from(apiKeys)
      .where(and(eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt)));
    if ((row?.n ?? 0) > 0) return undefined;
    return createApiKey(tx, 'admin (generated on first start)', 'admin');
  });
}

/**
 * The hashes of every key not revoked, reloaded at most once per KEY_CACHE_MS: what lets an address
 * that spent its lookups (auth.ts) still be let in with a valid key while its guesses cost no query.
 * A key created by this process is known at once (insertKey drops the sets); one created on another
 * node within KEY_CACHE_MS.
 */
let knownHashes = new WeakMap<Queryable, { hashes: Set<string>; until: number }>();

export async function isRegisteredApiKey(q: Queryable, key: string): Promise<boolean> {
  let known = knownHashes.get(q);
  if (!known || known.until <= Date.now()) {
    const rows = await q.select({ hash: apiKeys.keyHash }).from(apiKeys).where(isNull(apiKeys.revokedAt));
    known = { hashes: new Set(rows.map((r) => r.hash)), until: Date.now() + KEY_CACHE_MS };
    knownHashes.set(q, known);
  }
  return known.hashes.has(hashApiKey(key));
}
