import pg from 'pg';
import type { Logger } from '../logger.ts';

interface Subscription {
  channel: string;
  onPayload: (payload: string) => void;
  onReconnect: (() => void) | undefined;
}

/**
 * LISTEN on PostgreSQL needs one dedicated connection that outlives pool checkouts. When the
 * server restarts the connection dies; this reconnects with backoff, re-subscribes every channel and
 * tells subscribers, so a worker can poll for what it missed while it was deaf.
 */
export class PgListener {
  readonly #config: pg.ClientConfig;
  readonly #logger: Logger;
  readonly #subs = new Set<Subscription>();
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #closed = false;
  #backoffMs = 100;

  constructor(config: pg.ClientConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  async listen(
    channel: string,
    onPayload: (p: string) => void,
    onReconnect?: () => void,
  ): Promise<() => Promise<void>> {
    const sub: Subscription = { channel, onPayload, onReconnect };
    this.#subs.add(sub);
    const client = await this.#connect();
    await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    return async () => {
      this.#subs.delete(sub);
      if (![...this.#subs].some((s) => s.channel === channel) && this.#client) {
        await this.#client.query(`UNLISTEN ${pg.escapeIdentifier(channel)}`).catch(() => {});
      }
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  #connect(): Promise<pg.Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<pg.Client> {
    const client = new pg.Client(this.#config);
    client.on('notification', (msg) => {
      for (const sub of this.#subs) if (sub.channel === msg.channel) sub.onPayload(msg.payload ?? '');
    });
    client.on('error', (err) => {
      this.#logger.warn({ err }, 'LISTEN connection lost; reconnecting');
      this.#lost(client);
    });
    client.on('end', () => this.#lost(client));
    await client.connect();
    this.#client = client;
    this.#backoffMs = 100;
    return client;
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = undefined;
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    while (!this.#closed) {
      await new Promise((r) => setTimeout(r, this.#backoffMs).unref());
      this.#backoffMs = Math.min(this.#backoffMs * 2, 5000);
      try {
        const client = await this.#connect();
        for (const channel of new Set([...this.#subs].map((s) => s.channel))) {
          await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        }
        this.#logger.info({}, 'LISTEN connection restored');
        for (const sub of this.#subs) sub.onReconnect?.();
        return;
      } catch (err) {
        this.#logger.warn({ err }, 'LISTEN reconnect failed; retrying');
      }
    }
  }
}
