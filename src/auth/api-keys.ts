import { createHash, randomBytes } from 'node:crypto';
import { and, count, desc, eq, isNull, or, type SQL, sql } from 'drizzle-orm';
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
/**
 * A key works until its `revoked_at`: null for a live key, now for a revoked one, and a time ahead
 * for the old key of a rotation, which keeps working through the overlap so the backend can switch
 * without an outage. The database's clock decides, so every node agrees on when it stops.
 */
export function keyIsLive(): SQL {
  return or(isNull(apiKeys.revokedAt), sql`${apiKeys.revokedAt} > now()`)!;
}

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
  forgetKeys();
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
let keyCache = new WeakMap<Queryable, Map<string, { identity: ApiKeyIdentity; until: number }>>();

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
  const found = await lookupApiKey(q, hash);
  if (found) {
    // A rotated-out key is not remembered past the end of its overlap.
    const until = Math.min(Date.now() + KEY_CACHE_MS, found.revokedAt?.getTime() ?? Number.POSITIVE_INFINITY);
    cache.set(hash, { identity: found.identity, until });
  } else cache.delete(hash);
  return found?.identity;
}

/**
 * The live key with this hash, stamping its `last_used_at` in the same statement: a lookup happens
 * once per KEY_CACHE_MS per key and process, so "last used" is right to about that and costs one
 * write per key per half minute, not one per request.
 */
async function lookupApiKey(
  q: Queryable,
  hash: string,
): Promise<{ identity: ApiKeyIdentity; revokedAt: Date | null } | undefined> {
  const [row] = await q
    .update(apiKeys)
    .set({ lastUsedAt: sql`now()` })
    .where(and(eq(apiKeys.keyHash, hash), keyIsLive()))
    .returning({ id: apiKeys.id, name: apiKeys.name, role: apiKeys.role, revokedAt: apiKeys.revokedAt });
  return row
    ? { identity: { id: row.id, name: row.name, role: row.role as ApiKeyRole }, revokedAt: row.revokedAt }
    : undefined;
}

/** Forget every remembered key of this process, so a revocation here takes effect at once. */
function forgetKeys(): void {
  keyCache = new WeakMap();
  knownHashes = new WeakMap();
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
    if ((await lockAdminKeys(tx)) > 0) return undefined;
    return createApiKey(tx, 'admin (generated on first start)', 'admin');
  });
}

/**
 * Serialises every change that could leave no admin key (first start, revoking an admin) and
 * returns how many admin keys are live: two processes starting at once on an empty database, or
 * two operators revoking the last two admin keys at once, must see each other's write.
 */
async function lockAdminKeys(tx: Queryable): Promise<number> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('lc_first_admin_key'))`);
  const [row] = await tx
    .select({ n: count() })
    .from(apiKeys)
    .where(and(eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt)));
  return row?.n ?? 0;
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
    const rows = await q.select({ hash: apiKeys.keyHash }).from(apiKeys).where(keyIsLive());
    known = { hashes: new Set(rows.map((r) => r.hash)), until: Date.now() + KEY_CACHE_MS };
    knownHashes.set(q, known);
  }
  return known.hashes.has(hashApiKey(key));
}

/** A key as operators see it: never the key or its hash, only the prefix that names it. */
export interface ApiKeySummary {
  id: number;
  name: string;
  role: ApiKeyRole;
  /** `lcn_svc_AbCd…`: enough to tell keys apart, far too little to use. */
  prefix: string;
  state: 'active' | 'expiring' | 'revoked';
  created_at: string;
  last_used_at: string | null;
  /** When it stopped (revoked) or stops (the old key of a rotation). */
  revoked_at: string | null;
}

/** Every key, newest first, or the one with `onlyId`. */
export async function listApiKeys(q: Queryable, onlyId?: number): Promise<ApiKeySummary[]> {
  const rows = await q
    .select({
      id: apiKeys.id,
      name: apiKeys.name,
      role: apiKeys.role,
      prefix: apiKeys.prefix,
      createdAt: apiKeys.createdAt,
      lastUsedAt: apiKeys.lastUsedAt,
      revokedAt: apiKeys.revokedAt,
      live: sql<boolean>`${keyIsLive()}`,
    })
    .from(apiKeys)
    .where(onlyId === undefined ? undefined : eq(apiKeys.id, onlyId))
    .orderBy(desc(apiKeys.id));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role as ApiKeyRole,
    prefix: `${r.prefix}…`,
    state: r.revokedAt === null ? 'active' : r.live ? 'expiring' : 'revoked',
    created_at: r.createdAt.toISOString(),
    last_used_at: r.lastUsedAt?.toISOString() ?? null,
    revoked_at: r.revokedAt?.toISOString() ?? null,
  }));
}

export type KeyChange =
  | { kind: 'done'; key: ApiKeySummary }
  | { kind: 'not_found' }
  | { kind: 'already_revoked'; key: ApiKeySummary }
  /** It is the last admin key that stays: revoking it would lock every operator out. */
  | { kind: 'last_admin' };

/** Revoke at once (`overlapSeconds` 0) or at the end of an overlap; the last lasting admin key is kept. */
async function endKey(tx: Queryable, id: number, overlapSeconds: number): Promise<KeyChange> {
  const [row] = await tx
    .select({ role: apiKeys.role, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(eq(apiKeys.id, id))
    .for('update');
  if (!row) return { kind: 'not_found' };
  const summary = async () => (await listApiKeys(tx, id))[0]!;
  if (row.revokedAt !== null) return { kind: 'already_revoked', key: await summary() };
  if (row.role === 'admin' && (await lockAdminKeys(tx)) <= 1) return { kind: 'last_admin' };
  await tx
    .update(apiKeys)
    .set({ revokedAt: sql`now() + make_interval(secs => ${overlapSeconds})` })
    .where(eq(apiKeys.id, id));
  forgetKeys();
  return { kind: 'done', key: await summary() };
}

export function revokeApiKey(db: Db, id: number): Promise<KeyChange> {
  return db.transaction((tx) => endKey(tx, id, 0));
}

/** The most a rotated-out key may keep working: long enough for a deploy, short enough to matter. */
export const MAX_ROTATION_OVERLAP_SECONDS = 30 * 24 * 3600;

/**
 * A new key with the old one's name and role, shown once; the old one keeps working for
 * `overlapSeconds` (0: stops now) so the backend can switch without a failed request.
 */
export async function rotateApiKey(
  db: Db,
  id: number,
  overlapSeconds: number,
): Promise<
  | { kind: 'done'; key: string; created: ApiKeySummary; old: ApiKeySummary }
  | Exclude<KeyChange, { kind: 'done' }>
> {
  return db
    .transaction(async (tx) => {
      const [old] = await tx
        .select({ name: apiKeys.name, role: apiKeys.role })
        .from(apiKeys)
        .where(eq(apiKeys.id, id));
      if (!old) return { kind: 'not_found' } as const;
      // The new key first: the old admin key is then not the last one.
      const key = await createApiKey(tx, old.name, old.role as ApiKeyRole);
      const ended = await endKey(tx, id, overlapSeconds);
      if (ended.kind !== 'done') {
        // Nothing of the rotation stays: the new key goes with the transaction.
        throw new RotationRefused(ended);
      }
      const [made] = await tx
        .select({ id: apiKeys.id })
        .from(apiKeys)
        .where(eq(apiKeys.keyHash, hashApiKey(key)));
      const [created] = await listApiKeys(tx, made!.id);
      return { kind: 'done', key, created: created!, old: ended.key } as const;
    })
    .catch((err: unknown) => {
      if (err instanceof RotationRefused) return err.change;
      throw err;
    });
}

class RotationRefused extends Error {
  readonly change: Exclude<KeyChange, { kind: 'done' }>;
  constructor(change: Exclude<KeyChange, { kind: 'done' }>) {
    super(`rotation refused: ${change.kind}`);
    this.change = change;
  }
}
