import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, inArray, lte, or } from 'drizzle-orm';
import { type ApiKeyIdentity, keyIsLive } from '../auth/api-keys.ts';
import type { Clock } from '../clock.ts';
import type { Queryable } from '../db/database.ts';
import { apiKeys, consoleSessions } from '../db/schema.ts';

/** The roles that may sign in to the console: admin changes things, viewer only looks. */
export const CONSOLE_ROLES = ['admin', 'viewer'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

export function isConsoleRole(role: string): role is ConsoleRole {
  return (CONSOLE_ROLES as readonly string[]).includes(role);
}

export interface SessionLimits {
  /** Unused this long, a session is over. */
  idleMs: number;
  /** This long after sign-in, a session is over however much it is used. */
  absoluteMs: number;
}

export interface ConsoleOperator {
  sessionId: number;
  apiKeyId: number;
  /** The API key's name: who is signed in, as the key list shows it. */
  name: string;
  role: ConsoleRole;
}

/** last_seen_at is written at most this often, so a page's live stream is not a write per snapshot. */
const TOUCH_EVERY_MS = 60_000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Server-side console sessions. The cookie carries 256 random bits; the table holds only their
 * SHA-256, so reading the table (a backup, a replica) opens no session. Expiry is judged on the
 * injected clock, so a test steps past it instead of waiting.
 */
export class ConsoleSessions {
  readonly #db: Queryable;
  readonly #limits: SessionLimits;
  readonly #clock: Clock;

  constructor(db: Queryable, limits: SessionLimits, clock: Clock) {
    this.#db = db;
    this.#limits = limits;
    this.#clock = clock;
  }

  get limits(): SessionLimits {
    return this.#limits;
  }

  /** A new session for a key already checked to hold a console role; returns the cookie's value. */
  async create(key: ApiKeyIdentity): Promise<string> {
    if (!isConsoleRole(key.role)) throw new Error(`A ${key.role} key cannot hold a console session`);
    const now = new Date(this.#clock.now());
    // Expired sessions go when someone signs in: the table stays as small as the live sessions.
    await this.#db.delete(consoleSessions).where(this.#expired(now));
    const token = randomBytes(32).toString('base64url');
    await this.#db
      .insert(consoleSessions)
      .values({ tokenHash: hashToken(token), apiKeyId: key.id, createdAt: now, lastSeenAt: now });
    return token;
  }

  /**
   * The operator of a live session, or undefined (unknown, expired, or its key revoked). A request
   * counts as use (`touch`, the default) and moves the idle limit on.
   */
  async find(
    token: string | undefined,
    opts: { touch?: boolean } = {},
  ): Promise<ConsoleOperator | undefined> {
    if (!token) return undefined;
    const now = new Date(this.#clock.now());
    const [row] = await this.#db
      .select({
        sessionId: consoleSessions.id,
        lastSeenAt: consoleSessions.lastSeenAt,
        apiKeyId: apiKeys.id,
        name: apiKeys.name,
        role: apiKeys.role,
      })
      .from(consoleSessions)
      .innerJoin(apiKeys, eq(apiKeys.id, consoleSessions.apiKeyId))
      .where(
        and(
          eq(consoleSessions.tokenHash, hashToken(token)),
          gt(consoleSessions.createdAt, new Date(now.getTime() - this.#limits.absoluteMs)),
          gt(consoleSessions.lastSeenAt, new Date(now.getTime() - this.#limits.idleMs)),
          keyIsLive(),
          inArray(apiKeys.role, [...CONSOLE_ROLES]),
        ),
      );
    if (!row || !isConsoleRole(row.role)) return undefined;
    if (opts.touch !== false && now.getTime() - row.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
      await this.#db
        .update(consoleSessions)
        .set({ lastSeenAt: now })
        .where(eq(consoleSessions.id, row.sessionId));
    }
    return { sessionId: row.sessionId, apiKeyId: row.apiKeyId, name: row.name, role: row.role };
  }

  /** Logout: the session is gone, so its cookie opens nothing even if it was copied. */
  async end(token: string | undefined): Promise<void> {
    if (!token) return;
    await this.#db.delete(consoleSessions).where(eq(consoleSessions.tokenHash, hashToken(token)));
  }

  #expired(now: Date) {
    return or(
      lte(consoleSessions.createdAt, new Date(now.getTime() - this.#limits.absoluteMs)),
      lte(consoleSessions.lastSeenAt, new Date(now.getTime() - this.#limits.idleMs)),
    );
  }
}
