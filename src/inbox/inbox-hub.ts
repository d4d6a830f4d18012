import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { decodeInboxEvents, INBOX_CHANNEL, type InboxEvent } from './inbox-events.ts';
import { findInboxUser, type InboxItem, inboxSince, loadInboxItems, unreadCounts } from './inbox-store.ts';

/** Server → client messages (docs/inbox.md, "WebSocket"). */
export type ServerMessage =
  | { type: 'ready'; user_id: string }
  | { type: 'notification'; notification: InboxItem; unread_count?: number; replayed?: true }
  | { type: 'notification.read'; notification_id: string; read_at: string | null; unread_count: number }
  | { type: 'inbox.read_all'; unread_count: number }
  | { type: 'sync'; unread_count: number; replayed: number; truncated: boolean }
  | { type: 'pong' }
  | { type: 'error'; code: string; message: string };

/** One open, authenticated connection (the hub does not know it is a WebSocket). */
export interface InboxClient {
  readonly userId: string;
  /** The newest notification this client was sent: where a resync replays from. */
  lastNotificationId: string | undefined;
  send(message: ServerMessage): void;
}

/** Most notifications replayed on (re)connect; the client pages the rest over HTTP. */
export const REPLAY_LIMIT = 100;

/**
 * Fans inbox events out to this node's open connections. Every API node LISTENs on `lc_inbox`, so
 * an event published by any worker or node reaches the user wherever they are connected; a node
 * loads notifications only for users connected to it. Events are handled one payload at a time so
 * a connection sees a notification before the read that follows it.
 */
export class InboxHub {
  readonly #database: Database;
  readonly #logger: Logger;
  readonly #clients = new Map<string, Set<InboxClient>>();
  #chain: Promise<void> = Promise.resolve();
  #unlisten: (() => Promise<void>) | undefined;

  constructor(database: Database, logger: Logger) {
    this.#database = database;
    this.#logger = logger;
  }

  async start(): Promise<void> {
    this.#unlisten = await this.#database.listen(
      INBOX_CHANNEL,
      (payload) => this.#enqueue(decodeInboxEvents(payload)),
      // The LISTEN connection was down: events may have been missed, so every client catches up.
      () => {
        for (const set of this.#clients.values()) {
          for (const c of set) {
            this.sync(c, c.lastNotificationId).catch((err) =>
              this.#logger.warn({ err }, 'inbox resync failed'),
            );
          }
        }
      },
    );
  }

  async stop(): Promise<void> {
    await this.#unlisten?.();
    await this.#chain;
  }

  get connectionCount(): number {
    let n = 0;
    for (const set of this.#clients.values()) n += set.size;
    return n;
  }

  /** Register first, then `sync`: an event published in between is pushed rather than lost. */
  add(client: InboxClient): void {
    const set = this.#clients.get(client.userId) ?? new Set();
    set.add(client);
    this.#clients.set(client.userId, set);
  }

  remove(client: InboxClient): void {
    const set = this.#clients.get(client.userId);
    set?.delete(client);
    if (set?.size === 0) this.#clients.delete(client.userId);
  }

  /**
   * Replay what the client missed after `since` (oldest first), then the current unread count.
   * Throws USER_NOT_FOUND when the token's user does not exist (the caller closes the socket).
   */
  async sync(client: InboxClient, since: string | undefined): Promise<void> {
    const db = this.#database.db;
    const user = await findInboxUser(db, client.userId);
    let missed: { items: InboxItem[]; truncated: boolean } = { items: [], truncated: false };
    if (since) {
      try {
        missed = await inboxSince(db, user, since, REPLAY_LIMIT);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        client.send({ type: 'error', code: err.code, message: err.message });
      }
    }
    for (const item of missed.items) {
      this.#push(client, { type: 'notification', notification: item, replayed: true });
    }
    const counts = await unreadCounts(db, [client.userId]);
    client.send({
      type: 'sync',
      unread_count: counts.get(client.userId) ?? 0,
      replayed: missed.items.length,
      truncated: missed.truncated,
    });
  }

  #enqueue(events: InboxEvent[]): void {
    const local = events.filter((e) => this.#clients.has(e.user));
    if (local.length === 0) return;
    this.#chain = this.#chain
      .then(() => this.#dispatch(local))
      .catch((err) => this.#logger.warn({ err }, 'inbox push failed'));
  }

  async #dispatch(events: InboxEvent[]): Promise<void> {
    const db = this.#database.db;
    const ids = events.flatMap((e) => (e.kind === 'read_all' ? [] : [e.id]));
    const loaded = new Map((await loadInboxItems(db, ids)).map((r) => [r.item.notification_id, r]));
    const counts = await unreadCounts(db, [...new Set(events.map((e) => e.user))]);
    for (const e of events) {
      const unread = counts.get(e.user) ?? 0;
      let message: ServerMessage;
      if (e.kind === 'read_all') {
        message = { type: 'inbox.read_all', unread_count: unread };
      } else {
        const found = loaded.get(e.id);
        // The payload names the user; trust the row's owner, never the payload alone.
        if (!found || found.user !== e.user) continue;
        message =
          e.kind === 'new'
            ? { type: 'notification', notification: found.item, unread_count: unread }
            : {
                type: 'notification.read',
                notification_id: e.id,
                read_at: found.item.read_at,
                unread_count: unread,
              };
      }
      for (const client of this.#clients.get(e.user) ?? []) this.#push(client, message);
    }
  }

  #push(client: InboxClient, message: ServerMessage): void {
    if (message.type === 'notification') client.lastNotificationId = message.notification.notification_id;
    client.send(message);
  }
}
