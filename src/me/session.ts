import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import type { UserTokens } from '../auth/user-tokens.ts';
import { AppError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on /me pages behind the guard: whose pages these are (the marketplace's user id). */
    meUserId?: string;
  }
}

/** Where the end-user pages live; their cookies and assets are below it. */
export const ME_PATH = '/me';
export const SESSION_COOKIE = 'lcn_me_session';
export const CSRF_COOKIE = 'lcn_me_csrf';

/**
 * Never readable by script, only sent to /me. SameSite=Lax, not Strict: the session starts from a
 * link tapped in an email or SMS app, a cross-site navigation, and Strict would keep the cookie off
 * the redirect that follows it, so the first page would refuse the user. Lax still keeps it off
 * every cross-site POST, and each form carries a CSRF token besides.
 */
export function meCookie(secure: boolean): CookieSerializeOptions {
  return { path: ME_PATH, httpOnly: true, sameSite: 'lax', secure };
}

export const SESSION_ENDED =
  'Your session on these pages has ended. Open the link in your latest message from LaundryConnect again.';

/**
 * The session is a user token (docs/auth.md) of USER_TOKEN_TTL_SECONDS in the HttpOnly cookie:
 * nothing is stored server-side, and it ends when the token does. It is the user's own credential
 * for their own data only, the same a marketplace app holds.
 */
export async function startSession(
  reply: FastifyReply,
  o: { tokens: UserTokens; ttlSeconds: number; secureCookies: boolean },
  userId: string,
): Promise<void> {
  const { token } = await o.tokens.issue(userId, o.ttlSeconds);
  void reply.setCookie(SESSION_COOKIE, token, { ...meCookie(o.secureCookies), maxAge: o.ttlSeconds });
}

export interface MeGuard {
  /** onRequest of a page or a script's data URL: the session's user, or a 401 page saying what to do. */
  page(request: FastifyRequest): Promise<void>;
  /**
   * preValidation of a form post: its CSRF token first, so a post that did not come from one of
   * these pages is a 403 whatever else it carries (as the console's), then the session.
   */
  change: preValidationHookHandler[];
}

export function meGuard(scope: FastifyInstance, tokens: UserTokens): MeGuard {
  const page = async (request: FastifyRequest): Promise<void> => {
    const token = request.cookies[SESSION_COOKIE];
    if (!token) throw new AppError('UNAUTHORIZED', SESSION_ENDED);
    try {
      request.meUserId = await tokens.verify(token);
    } catch {
      throw new AppError('UNAUTHORIZED', SESSION_ENDED);
    }
  };
  return { page, change: [scope.csrfProtection, page] };
}

/** The signed-in user of a guarded route. */
export function meUser(request: FastifyRequest): string {
  if (!request.meUserId) throw new Error('the /me guard has not run');
  return request.meUserId;
}
