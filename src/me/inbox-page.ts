import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { UserTokens } from '../auth/user-tokens.ts';
import type { Db } from '../db/database.ts';
import { users } from '../db/schema.ts';
import { type Html, html } from '../http/html.ts';
import { findInboxUser, type InboxItem, listInbox, markAllRead, markRead } from '../inbox/inbox-store.ts';
import { text } from '../text.ts';
import { effectiveTimeZone } from '../user-time-zone.ts';
import { meLayout } from './layout.ts';
import { ME_PATH, type MeGuard, meUser } from './session.ts';
import type { PageShellOf } from './shell.ts';

/** Newest first, this many a page; "Older" continues from the last one shown. */
const PAGE_SIZE = 30;

/**
 * The page script's token for the inbox WebSocket: minted per connection from the session cookie,
 * so no lasting credential sits in the page, and so short that one read from it is soon worthless.
 * The socket closes when it expires (4401) and the script reconnects with a fresh one.
 */
export const SOCKET_TOKEN_TTL_SECONDS = 5 * 60;

/** One format for the server's list and the script's live items (the script reads these options). */
export const TIME_FORMAT = { dateStyle: 'medium', timeStyle: 'short' } as const;

const cursorQuery = z.object({ cursor: text().min(1).max(64).optional() });
const idParams = z.object({ id: text().min(1).max(64) });

function itemHtml(item: InboxItem, csrfToken: string, timeZone: string): Html {
  const when = new Intl.DateTimeFormat('en-GB', { ...TIME_FORMAT, timeZone }).format(
    new Date(item.created_at),
  );
  return html`<li class="item${item.is_read ? '' : ' unread'}" data-id="${item.notification_id}">
<h2>${item.title}</h2>
<p>${item.message}</p>
<p class="meta"><time datetime="${item.created_at}">${when}</time> · <span class="state">${item.is_read ? 'Read' : 'Unread'}</span></p>
${
  !item.is_read &&
  html`<form method="post" action="${ME_PATH}/inbox/${item.notification_id}/read">
<input type="hidden" name="_csrf" value="${csrfToken}">
<button type="submit">Mark read<span class="visually-hidden">: ${item.title}</span></button>
</form>`
}
</li>`;
}

function inboxMain(
  page: { notifications: InboxItem[]; next_cursor: string | null },
  o: { csrfToken: string; timeZone: string; unread: number; first: boolean },
): Html {
  const newest = o.first ? page.notifications[0]?.notification_id : undefined;
  return html`<h1>Inbox</h1>
<p class="live" id="live-status" role="status">New notifications appear here as they arrive.</p>
<form method="post" action="${ME_PATH}/inbox/read-all" class="read-all">
<input type="hidden" name="_csrf" value="${o.csrfToken}">
<button type="submit"${o.unread === 0 ? html` disabled` : ''}>Mark all read</button>
</form>
<p class="empty" id="inbox-empty"${page.notifications.length > 0 ? html` hidden` : ''}>No notifications yet.</p>
<ol class="inbox" id="inbox-list" data-csrf="${o.csrfToken}" data-time-zone="${o.timeZone}"${newest ? html` data-newest="${newest}"` : ''}${o.first ? html` data-live="true"` : ''}>
${page.notifications.map((n) => itemHtml(n, o.csrfToken, o.timeZone))}
</ol>
${page.next_cursor && html`<p><a href="${ME_PATH}/inbox?cursor=${page.next_cursor}">Older notifications</a></p>`}
${!o.first && html`<p><a href="${ME_PATH}/inbox">Newest notifications</a></p>`}`;
}

export interface InboxPageDeps {
  db: Db;
  tokens: UserTokens;
  shell: PageShellOf;
  guard: MeGuard;
}

/**
 * `/me/inbox`: the in-app inbox through the inbox API's own store functions (list, mark read, mark
 * all read), as forms that work without script; inbox.js then keeps the page live over `/ws`.
 */
export function registerInboxPage(scope: FastifyInstance, deps: InboxPageDeps): void {
  const { db } = deps;

  scope.get(
    '/inbox',
    { schema: { hide: true, querystring: cursorQuery }, onRequest: deps.guard.page },
    async (request, reply) => {
      const userId = meUser(request);
      const user = await findInboxUser(db, userId);
      const { cursor } = request.query as z.infer<typeof cursorQuery>;
      const page = await listInbox(db, user, { cursor, limit: PAGE_SIZE, unreadOnly: false });
      const [row] = await db
        .select({ timeZone: users.timeZone, phone: users.phone })
        .from(users)
        .where(eq(users.id, user.id));
      const shell = await deps.shell(reply, userId, 'inbox');
      const main = inboxMain(page, {
        csrfToken: shell.csrfToken,
        timeZone: effectiveTimeZone(row!).zone,
        unread: shell.unread,
        first: cursor === undefined,
      });
      return reply
        .type('text/html; charset=utf-8')
        .send(meLayout({ title: 'Inbox', signedIn: shell, scripts: ['inbox.js'] }, main));
    },
  );

  scope.post(
    '/inbox/:id/read',
    { schema: { hide: true, params: idParams }, preValidation: deps.guard.change },
    async (request, reply) => {
      const { id } = request.params as z.infer<typeof idParams>;
      await markRead(db, await findInboxUser(db, meUser(request)), id);
      return reply.redirect(`${ME_PATH}/inbox`, 303);
    },
  );

  scope.post(
    '/inbox/read-all',
    { schema: { hide: true }, preValidation: deps.guard.change },
    async (request, reply) => {
      await markAllRead(db, await findInboxUser(db, meUser(request)));
      return reply.redirect(`${ME_PATH}/inbox`, 303);
    },
  );

  scope.get(
    '/socket-token',
    { schema: { hide: true }, onRequest: deps.guard.page },
    async (request, reply) => {
      const { token, expiresAt } = await deps.tokens.issue(meUser(request), SOCKET_TOKEN_TTL_SECONDS);
      return reply.header('cache-control', 'no-store').send({ token, expires_at: expiresAt.toISOString() });
    },
  );
}
