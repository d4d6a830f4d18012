import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { UserTokens } from '../auth/user-tokens.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/database.ts';
import { errorHandler, toAppError } from '../http/error-handler.ts';
import { html } from '../http/html.ts';
import { addPageHeaders } from '../http/page-headers.ts';
import type { PreferenceRouteDeps } from '../http/routes/preferences.ts';
import { findInboxUser } from '../inbox/inbox-store.ts';
import { registerInboxPage } from './inbox-page.ts';
import { meLayout } from './layout.ts';
import { registerLinkRoute } from './link-route.ts';
import type { LinkTokens } from './link-tokens.ts';
import { registerPreferencesPage } from './preferences-page.ts';
import { CSRF_COOKIE, ME_PATH, meCookie, meGuard, SESSION_COOKIE, startSession } from './session.ts';
import { unreadShell } from './shell.ts';

export interface MeOptions {
  db: Db;
  clock: Clock;
  userTokens: UserTokens;
  /** The signed links' keys (shared with the emails that carry them). */
  links: LinkTokens;
  /** USER_TOKEN_TTL_SECONDS: how long a session opened by a link lasts. */
  sessionTtlSeconds: number;
  /** PUBLIC_URL: cookies get Secure when it is https. */
  publicUrl: string | undefined;
  /** The base of the links made (PUBLIC_URL, or the address the server listens on). */
  linkBaseUrl: () => string;
  /** The preferences API's own parts: the page saves through the same service with them. */
  preferences: PreferenceRouteDeps;
}

const openQuery = z.object({ token: z.string().max(4096).optional() });

/**
 * The end-user pages under /me (docs/end-user-pages.md): a preference centre and a live inbox for
 * the user a signed link names. Not the operator console: its own encapsulated plugin with its own
 * cookie session (a user token), CSRF secret and error pages, so nothing here reaches an operator's
 * session, and the API's routes see none of its cookie parsing. The API route that makes the links
 * is registered beside the API's own.
 */
export async function registerMe(app: FastifyInstance, o: MeOptions): Promise<void> {
  const { links } = o;
  registerLinkRoute(app, { db: o.db, links, baseUrl: o.linkBaseUrl });
  const secureCookies = o.publicUrl?.startsWith('https:') ?? false;
  const session = { tokens: o.userTokens, ttlSeconds: o.sessionTtlSeconds, secureCookies };
  const shell = unreadShell(o.db);

  await app.register(
    async (scope) => {
      await scope.register(fastifyCookie);
      await scope.register(fastifyCsrf, { cookieKey: CSRF_COOKIE, cookieOpts: meCookie(secureCookies) });
      await scope.register(fastifyStatic, {
        root: fileURLToPath(new URL('assets/', import.meta.url)),
        prefix: '/assets/',
        decorateReply: false,
      });
      addPageHeaders(scope);
      scope.setErrorHandler(meErrorHandler);
      scope.setNotFoundHandler((_request, reply) =>
        sendPage(reply, 404, 'Not found', 'There is no such page.'),
      );

      // The token leaves the URL at once: a 303 to the page, the session in an HttpOnly cookie.
      scope.get('/open', { schema: { hide: true, querystring: openQuery } }, async (request, reply) => {
        const { token } = request.query as z.infer<typeof openQuery>;
        const link = await links.verify(token ?? '');
        await findInboxUser(o.db, link.userId);
        await startSession(reply, session, link.userId);
        return reply.redirect(`${ME_PATH}/${link.page}`, 303);
      });
      scope.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply.redirect(`${ME_PATH}/inbox`, 303),
      );
      scope.post(
        '/sign-out',
        { schema: { hide: true }, preValidation: scope.csrfProtection },
        async (_request, reply) => {
          void reply.clearCookie(SESSION_COOKIE, meCookie(secureCookies));
          return sendPage(
            reply,
            200,
            'Signed out',
            'You are signed out of your notification pages. To come back, open the link in a message from LaundryConnect.',
          );
        },
      );

      const guard = meGuard(scope, o.userTokens);
      registerPreferencesPage(scope, { db: o.db, preferences: o.preferences, shell, guard });
      registerInboxPage(scope, { db: o.db, tokens: o.userTokens, shell, guard });
    },
    { prefix: ME_PATH },
  );
}

/** Errors as pages a person can act on; a 5xx goes to the API's handler, which logs it. */
function meErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (err.code?.startsWith('FST_CSRF_')) {
    void sendPage(
      reply,
      403,
      'Form refused',
      'This form has expired or did not come from these pages. Reload the page and try again.',
    );
    return;
  }
  const appError = toAppError(err);
  if (appError.status >= 500) {
    errorHandler(err, request, reply);
    return;
  }
  const title = appError.status === 401 ? 'Link expired or not valid' : 'Request refused';
  void sendPage(reply, appError.status, title, appError.message);
}

function sendPage(reply: FastifyReply, status: number, title: string, message: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(meLayout({ title }, html`<h1>${title}</h1><p>${message}</p>`));
}
