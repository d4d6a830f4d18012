import { eq } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SettingsLinks } from '../../auth/settings-link.ts';
import { UNSUBSCRIBE_PATH, type UnsubscribeTokens } from '../../auth/unsubscribe-tokens.ts';
import type { Category } from '../../catalog/catalog.ts';
import type { Db } from '../../db/database.ts';
import { users } from '../../db/schema.ts';
import { AppError } from '../../errors.ts';
import { unsubscribeFromEmail } from '../../preferences/preferences-service.ts';
import { text } from '../../text.ts';

export interface UnsubscribeRouteDeps {
  db: Db;
  tokens: UnsubscribeTokens;
  /** Where the pages send the user to change their mind. */
  settings: SettingsLinks;
}

const params = z.object({ token: text().min(1).max(100) });

/**
 * RFC 8058 one-click unsubscribe, the target of every non-critical email's List-Unsubscribe. The
 * signed token in the path is the whole request: no API key, no user token, no cookies. POST
 * unsubscribes; GET only shows a page whose button POSTs, because mail scanners fetch every link.
 */
export function registerUnsubscribeRoutes(app: FastifyInstance, deps: UnsubscribeRouteDeps): void {
  void app.register(async (scope) => {
    // The mail client's body is `List-Unsubscribe=One-Click`, urlencoded (Gmail) or multipart
    // (RFC 8058's own example); it says nothing the URL does not, so any body is read within the
    // body limit and ignored.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => done(null));
    const r = scope.withTypeProvider<ZodTypeProvider>();
    const path = `${UNSUBSCRIBE_PATH}:token`;

    /**
     * The token's contents, or (for a person's browser) a page saying why the link does not work,
     * with the way to the settings: a mail client's one-click POST and API callers get the
     * problem+json as any other error.
     */
    const verifyOrExplain = (
      request: { params: { token: string }; headers: { accept?: string | undefined } },
      reply: FastifyReply,
    ): ReturnType<UnsubscribeTokens['verify']> | undefined => {
      try {
        return deps.tokens.verify(request.params.token);
      } catch (err) {
        if (!(err instanceof AppError) || !request.headers.accept?.includes('text/html')) throw err;
        // The token names no user we can trust, so no signed link to their settings either.
        const settingsUrl = deps.settings.anyUser;
        page(
          reply.code(err.status),
          'This link does not work',
          `<p>${escapeHtml(err.message)}.</p>
<p>You can still turn emails off in your ${settingsUrl ? `<a href="${escapeHtml(settingsUrl)}">notification settings</a>` : 'notification settings, from the link at the end of any of our emails'}.</p>`,
        );
        return undefined;
      }
    };

    r.get(path, { schema: { hide: true, params } }, async (request, reply) => {
      const verified = verifyOrExplain(request, reply);
      if (!verified) return reply;
      const { categories } = verified;
      return page(
        reply,
        'Unsubscribe',
        `<p>Stop emails about ${describe(categories)}?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
      );
    });

    r.post(path, { schema: { hide: true, params } }, async (request, reply) => {
      const verified = verifyOrExplain(request, reply);
      if (!verified) return reply;
      const { userId, categories } = verified;
      await unsubscribeFromEmail(deps.db, userId, categories);
      const [user] = await deps.db
        .select({ externalId: users.externalId })
        .from(users)
        .where(eq(users.id, userId));
      const settings = user ? await deps.settings.forUser(user.externalId) : deps.settings.anyUser;
      return page(
        reply,
        'Unsubscribed',
        `<p>You will no longer get emails about ${describe(categories)}.</p>
${settings ? `<p><a href="${escapeHtml(settings)}">Notification settings</a></p>` : ''}`,
      );
    });
  });
}

function describe(categories: readonly Category[]): string {
  return categories.map((c) => c.replaceAll('_', ' ')).join(', ');
}

function page(reply: FastifyReply, title: string, body: string): FastifyReply {
  return (
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      // The token is in this page's URL: a click on the settings link must not send it along.
      .header('referrer-policy', 'no-referrer')
      .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · LaundryConnect</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1>${title}</h1>
${body}
</body></html>
`)
  );
}

function escapeHtml(value: string): string {
  return value.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
