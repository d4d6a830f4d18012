/**
 * The tracked links' rows (migration 0031): a send's links stored before its text goes out, the
 * redirect's lookup with its click, and the clicks a delivery timeline shows.
 *
 * Retries: a render thread makes a fresh random id for every new target, so a re-render on retry
 * would make new ones. It does not, because the attempt first reads the links its delivery already
 * has (`reuse`) and the filter gives each stored target its stored id back: the retried text is
 * the same (which the crash-safe lookup needs too: it finds an earlier send by its exact text), and
 * the insert of an already stored (delivery, target) is a no-op on its unique key. Only a second
 * worker racing a reaped lease could store a different id first; `store` then throws and the
 * attempt is retried with the stored one, so a message never carries a link without its row.
 */
import { asc, eq, inArray, sql } from 'drizzle-orm';
import { type Db, type Queryable, queryRows } from '../db/database.ts';
import { type LINK_CLIENT_CLASSES, linkClicks, trackedLinks } from '../db/schema.ts';
import type { TrackedLink } from './tracked-link.ts';

export type ClientClass = (typeof LINK_CLIENT_CLASSES)[number];

export class LinkStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The delivery's stored links, target → id: what a re-render gives back. */
  async reuse(deliveryId: string): Promise<Record<string, string>> {
    const rows = await this.#db
      .select({ id: trackedLinks.id, target: trackedLinks.target })
      .from(trackedLinks)
      .where(eq(trackedLinks.deliveryId, Number(deliveryId)));
    return Object.fromEntries(rows.map((r) => [r.target, r.id]));
  }

  /** Stores a render's links for the delivery; throws when one of its targets has another id stored. */
  async store(deliveryId: string, links: readonly TrackedLink[]): Promise<void> {
    if (links.length === 0) return;
    const delivery = Number(deliveryId);
    await this.#db
      .insert(trackedLinks)
      .values(links.map((l) => ({ id: l.id, target: l.target, deliveryId: delivery })))
      .onConflictDoNothing();
    const stored = await this.reuse(deliveryId);
    const lost = links.find((l) => stored[l.target] !== l.id);
    if (lost) {
      throw new Error(
        `delivery ${deliveryId} already has another tracked link for a target: another attempt stored it first`,
      );
    }
  }
}

/**
 * The target of link `id`, recording a click when `click` says one happened (a GET; a HEAD is not
 * one), in one statement; undefined for an unknown id.
 */
export async function followLink(
  q: Queryable,
  id: string,
  click: { at: Date; client: ClientClass } | undefined,
): Promise<string | undefined> {
  if (!click) {
    const [row] = await q
      .select({ target: trackedLinks.target })
      .from(trackedLinks)
      .where(eq(trackedLinks.id, id));
    return row?.target;
  }
  const rows = await queryRows<{ target: string }>(
    q,
    sql`
    with link as (select id, delivery_id, target from tracked_links where id = ${id}),
    clicked as (
      insert into link_clicks (link_id, delivery_id, clicked_at, client_class)
      select id, delivery_id, ${click.at.toISOString()}::timestamptz, ${click.client} from link
    )
    select target from link`,
  );
  return rows[0]?.target;
}

export interface LinkClick {
  deliveryId: number;
  at: Date;
  target: string;
  client: ClientClass;
}

/** Every click on the deliveries' links, oldest first. */
export async function clicksOf(q: Queryable, deliveryIds: readonly number[]): Promise<LinkClick[]> {
  if (deliveryIds.length === 0) return [];
  return q
    .select({
      deliveryId: linkClicks.deliveryId,
      at: linkClicks.clickedAt,
      target: trackedLinks.target,
      client: linkClicks.clientClass,
    })
    .from(linkClicks)
    .innerJoin(trackedLinks, eq(trackedLinks.id, linkClicks.linkId))
    .where(inArray(linkClicks.deliveryId, [...deliveryIds]))
    .orderBy(asc(linkClicks.clickedAt), asc(linkClicks.id));
}

/**
 * Who followed the link, from its User-Agent: link previews (messaging apps fetch a link to show
 * a card) and crawlers are `bot`, so figures can leave them out; they still count as clicks.
 */
export function clientClass(userAgent: string | undefined): ClientClass {
  if (!userAgent) return 'unknown';
  return /bot|crawl|spider|preview|facebookexternalhit|whatsapp|telegram|slack|skype|curl|wget|python|headless/i.test(
    userAgent,
  )
    ? 'bot'
    : 'browser';
}
