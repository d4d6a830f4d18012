import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findApiKey } from '../auth/api-keys.ts';
import type { Queryable } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { type Html, html } from '../http/html.ts';
import { CONSOLE_PATH, layout, type PageId, type PageShell } from './layout.ts';
import { type ConsoleOperator, type ConsoleSessions, isConsoleRole } from './session.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on console routes behind the guard: who is signed in. */
    consoleOperator?: ConsoleOperator;
  }
}

export const SESSION_COOKIE = 'lcn_console_session';
export const CSRF_COOKIE = 'lcn_console_csrf';

/** Both cookies: never readable by script, never sent cross-site, only to the console's paths. */
export function consoleCookie(secure: boolean): CookieSerializeOptions {
  return { path: CONSOLE_PATH, httpOnly: true, sameSite: 'strict', secure };
}

export interface ConsoleGuard {
  /** A page: the operator signed in, or a 303 to the sign-in page. */
  page(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /**
   * A change (a form post; its route also runs `csrfProtection` in preValidation): an admin signed
   * in, or a 303 to sign-in, or a 403 page for a viewer, who may look but not change.
   */
  change(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /**
   * A stream or data URL a script calls: the operator signed in, or a bare 401. A script's calls
   * are not use: a page left open does not keep its session from going idle.
   */
  data(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** What the layout shows of a signed-in page (the operator, the sign-out form's CSRF token). */
  shell(request: FastifyRequest, reply: FastifyReply, current: PageId): PageShell['signedIn'];
}

/** `enabled`: the optional pages this set-up has (the layout's menu shows only those). */
export function consoleGuard(sessions: ConsoleSessions, enabled: ReadonlySet<PageId>): ConsoleGuard {
  const identify = async (request: FastifyRequest, touch = true) => {
    request.consoleOperator = await sessions.find(request.cookies[SESSION_COOKIE], { touch });
    return request.consoleOperator;
  };
  return {
    async page(request, reply) {
      if (!(await identify(request))) await reply.redirect(`${CONSOLE_PATH}/sign-in`, 303);
    },
    async change(request, reply) {
      const operator = await identify(request);
      if (!operator) await reply.redirect(`${CONSOLE_PATH}/sign-in`, 303);
      else if (operator.role !== 'admin')
        throw new AppError('FORBIDDEN', 'A viewer key may look but not change: sign in with an admin key.');
    },
    async data(request, reply) {
      if (!(await identify(request, false)))
        await reply.code(401).type('text/plain; charset=utf-8').send('Sign in to the console first');
    },
    shell(request, reply, current) {
      const operator = request.consoleOperator;
      if (!operator) throw new Error('shell() needs the guard to have run');
      return { operator, csrfToken: reply.generateCsrf(), current, enabled };
    },
  };
}

const signInBody = z.object({ key: z.string().max(512), _csrf: z.string() });

export function signInPage(csrfToken: string, error?: string): string {
  return layout({ title: 'Sign in' }, signInMain(csrfToken, error));
}

function signInMain(csrfToken: string, error: string | undefined): Html {
  return html`<h1>Sign in to the console</h1>
<p>Use an API key of role <strong>admin</strong> or <strong>viewer</strong>. On a first start the
admin key is printed once by <code>npm start</code>; <code>POST /api/v1/api-keys</code> makes
more (docs/auth.md). The key is checked here and never kept in the browser: you get a session
cookie instead.</p>
${error && html`<div class="error" role="alert" id="sign-in-error"><p>${error}</p></div>`}
<form method="post" action="${CONSOLE_PATH}/sign-in" class="sign-in">
  <input type="hidden" name="_csrf" value="${csrfToken}">
  <label for="key">API key</label>
  <input id="key" name="key" type="password" required autocomplete="off" spellcheck="false"
    aria-describedby="key-help${error ? ' sign-in-error' : ''}"${error ? html` aria-invalid="true" autofocus` : ''}>
  <p id="key-help" class="note">Starts with <code>lcn_adm_</code> or <code>lcn_vwr_</code>.</p>
  <button type="submit">Sign in</button>
</form>`;
}

export interface SessionRouteDeps {
  db: Queryable;
  sessions: ConsoleSessions;
  secureCookies: boolean;
  signInAttemptsPerMinute: number;
  /** After a sign-out: the live streams re-check their sessions, so the signed-out one ends at once. */
  onSignedOut(): void;
}

/** Sign-in, sign-out and the console's root. The CSRF check runs before anything else reads the form. */
export function registerSessionRoutes(app: FastifyInstance, deps: SessionRouteDeps): void {
  const cookie = consoleCookie(deps.secureCookies);
  const sendHtml = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).type('text/html; charset=utf-8').send(body);

  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const signedIn = await deps.sessions.find(request.cookies[SESSION_COOKIE]);
    return reply.redirect(`${CONSOLE_PATH}/${signedIn ? 'overview' : 'sign-in'}`, 303);
  });

  app.get('/sign-in', { schema: { hide: true } }, async (request, reply) => {
    if (await deps.sessions.find(request.cookies[SESSION_COOKIE]))
      return reply.redirect(`${CONSOLE_PATH}/overview`, 303);
    return sendHtml(reply, 200, signInPage(reply.generateCsrf()));
  });

  app.post(
    '/sign-in',
    {
      schema: { hide: true },
      // Every attempt counts, refused ones too: guessing keys here costs a lookup each.
      config: { rateLimit: { max: deps.signInAttemptsPerMinute, timeWindow: 60_000 } },
      preValidation: app.csrfProtection,
    },
    async (request, reply) => {
      const body = signInBody.safeParse(request.body);
      const key = body.success ? body.data.key.trim() : '';
      const identity = key ? await findApiKey(deps.db, key) : undefined;
      // Nothing is set on a refusal: the page again, with why, and no session cookie.
      const refuse = (message: string) => sendHtml(reply, 401, signInPage(reply.generateCsrf(), message));
      if (!identity) return refuse('That API key is not valid: it is unknown or has been revoked.');
      if (!isConsoleRole(identity.role))
        return refuse(`A ${identity.role} key cannot sign in to the console: use an admin or viewer key.`);
      // A new session id on every sign-in (none carried over), and the one this browser had is over.
      await deps.sessions.end(request.cookies[SESSION_COOKIE]);
      const token = await deps.sessions.create(identity);
      void reply.setCookie(SESSION_COOKIE, token, {
        ...cookie,
        maxAge: Math.floor(deps.sessions.limits.absoluteMs / 1000),
      });
      return reply.redirect(`${CONSOLE_PATH}/overview`, 303);
    },
  );

  app.post(
    '/logout',
    { schema: { hide: true }, preValidation: app.csrfProtection },
    async (request, reply) => {
      await deps.sessions.end(request.cookies[SESSION_COOKIE]);
      deps.onSignedOut();
      void reply.clearCookie(SESSION_COOKIE, cookie);
      return reply.redirect(`${CONSOLE_PATH}/sign-in`, 303);
    },
  );
}
