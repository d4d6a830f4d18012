import { sql } from 'drizzle-orm';
import type { Queryable } from '../db/database.ts';

/**
 * What the inbox tells live connections, carried over PostgreSQL NOTIFY so every API node hears
 * what any worker or node did. Payloads carry ids only (NOTIFY payloads must stay under 8000 bytes):
 * each node loads the notification itself, and only for users connected to it.
 */
export const INBOX_CHANNEL = 'lc_inbox';

export type InboxEvent =
  | { kind: 'new'; user: string; id: string }
  | { kind: 'read'; user: string; id: string }
  | { kind: 'read_all'; user: string };

/** Below PostgreSQL's 8000-byte limit, with room for multi-byte user ids. */
const MAX_PAYLOAD_BYTES = 7_500;

type Wire = [InboxEvent['kind'], string, string?];

const toWire = (e: InboxEvent): Wire => (e.kind === 'read_all' ? [e.kind, e.user] : [e.kind, e.user, e.id]);

/** Pack events into as few payloads as fit the limit (one JSON array each). */
export function encodeInboxEvents(events: readonly InboxEvent[]): string[] {
  const payloads: string[] = [];
  let batch: string[] = [];
  let size = 2;
  for (const event of events) {
    const item = JSON.stringify(toWire(event));
    const bytes = Buffer.byteLength(item) + 1;
    if (batch.length > 0 && size + bytes > MAX_PAYLOAD_BYTES) {
      payloads.push(`[${batch.join(',')}]`);
      batch = [];
      size = 2;
    }
    batch.push(item);
    size += bytes;
  }
  if (batch.length > 0) payloads.push(`[${batch.join(',')}]`);
  return payloads;
}

/** The events of one payload; anything malformed is dropped (a NOTIFY can come from anyone with SQL). */
export function decodeInboxEvents(payload: string): InboxEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const events: InboxEvent[] = [];
  for (const item of parsed) {
    if (!Array.isArray(item) || typeof item[1] !== 'string') continue;
    const [kind, user, id] = item as unknown[];
    if (kind === 'read_all') events.push({ kind, user: user as string });
    else if ((kind === 'new' || kind === 'read') && typeof id === 'string') {
      events.push({ kind, user: user as string, id });
    }
  }
  return events;
}

/** NOTIFY the events; inside a transaction they are delivered only if it commits. */
export async function publishInboxEvents(q: Queryable, events: readonly InboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  const payloads = JSON.stringify(encodeInboxEvents(events));
  await q.execute(
    sql`select pg_notify(${INBOX_CHANNEL}, p) from jsonb_array_elements_text(${payloads}::jsonb) p`,
  );
}

/**
 * Coalesces the events of concurrent in-app deliveries into one NOTIFY statement per event-loop
 * turn: at thousands of deliveries a second, one round trip each would cost more than the delivery.
 */
export class InboxPublisher {
  readonly #q: Queryable;
  #pending: InboxEvent[] = [];
  #flush: Promise<void> | undefined;

  constructor(q: Queryable) {
    this.#q = q;
  }

  /** Resolves once the event is published (rejects if the NOTIFY failed, so the delivery is retried). */
  publish(event: InboxEvent): Promise<void> {
    this.#pending.push(event);
    this.#flush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const batch = this.#pending;
      this.#pending = [];
      this.#flush = undefined;
      return publishInboxEvents(this.#q, batch);
    });
    return this.#flush;
  }
}
