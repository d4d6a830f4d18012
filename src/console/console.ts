import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyStatic from '@fastify/static';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { UserTokens } from '../auth/user-tokens.ts';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { errorHandler, toAppError } from '../http/error-handler.ts';
import { html } from '../http/html.ts';
import { addPageHeaders } from '../http/page-headers.ts';
import type { PreferenceRouteDeps } from '../http/routes/preferences.ts';
import type { Logger } from '../logger.ts';
import type { CreateNotificationDeps } from '../notifications/create-notification.ts';
import type { SmsSetup } from '../setup/sms.ts';
import { smsProvidersReport } from '../stats/sms-providers.ts';
import type { TemplateStore } from '../templates/template-store.ts';
import { registerActivity } from './activity-page.ts';
import { registerAuditPage } from './audit-page.ts';
import { CONSOLE_PATH, layout } from './layout.ts';
import { LiveSnapshots, registerLiveStream } from './live.ts';
import { registerOverviewPage } from './overview-page.ts';
import { registerSandboxPage } from './sandbox-page.ts';
import { ConsoleSessions, type SessionLimits } from './session.ts';
import {
  CSRF_COOKIE,
  consoleCookie,
  consoleGuard,
  registerSessionRoutes,
  signInPage,
} from './session-routes.ts';
import { registerTemplatePages } from './templates-page.ts';
import { registerVariantTestsPage } from './templates-variants-page.ts';
import { registerUsersPages } from './users-page.ts';

export interface ConsoleOptions {
  database: Database;
  clock: Clock;
  logger: Logger;
  /** Cookies get Secure when the public URL is https. */
  publicUrl: string | undefined;
  timeZone: string;
  sessionLimits: SessionLimits;
  signInAttemptsPerMinute: number;
  warningPercent: number;
  liveIntervalMs: number;
  /** What the pages read and change, the same parts the API routes use (one way to do each thing). */
  config: Config;
  templates: TemplateStore;
  notifications: CreateNotificationDeps;
  preferences: PreferenceRouteDeps;
  /** The SMS backend; its in-process sandbox, when there is one, backs the sandbox phone page. */
  sms: SmsSetup;
  userTokens: UserTokens;
  /** The service's inbound SMS webhook URL (the sandbox phone's replies go there, signed). */
  inboundWebhookUrl: () => string;
}

/** Only what the pages load; nothing else of a package is reachable through the console. */
const UPLOT_FILES = new Set(['uPlot.esm.js', 'uPlot.min.css']);

/**
 * The operator console under /console (docs/console.md): server-rendered pages, a session cookie
 * got by signing in with an admin or viewer key, CSRF tokens on every form. Its own encapsulated
 * plugin, so its cookie parsing, CSRF, static files and HTML error pages touch no API route.
 */
export async function registerConsole(app: FastifyInstance, o: ConsoleOptions): Promise<void> {
  const db = o.database.db;
  const sessions = new ConsoleSessions(db, o.sessionLimits, o.clock);
  const guard = consoleGuard(sessions, new Set(o.sms.sandbox ? (['sandbox'] as const) : []));
  const secureCookies = o.publicUrl?.startsWith('https:') ?? false;
  const overview = {
    db,
    timeZone: o.timeZone,
    clock: o.clock,
    warningPercent: o.warningPercent,
    smsProviders: () => smsProvidersReport(o.config, o.sms),
  };
  const live = new LiveSnapshots({
    database: o.database,
    intervalMs: o.liveIntervalMs,
    logger: o.logger,
  });
  await live.start();
  app.addHook('preClose', () => live.stop());

  await app.register(
    async (scope) => {
      await scope.register(fastifyCookie);
      await scope.register(fastifyCsrf, { cookieKey: CSRF_COOKIE, cookieOpts: consoleCookie(secureCookies) });
      await scope.register(fastifyStatic, {
        root: fileURLToPath(new URL('assets/', import.meta.url)),
        prefix: '/assets/',
        decorateReply: false,
      });
      await scope.register(fastifyStatic, {
        root: join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist'),
        prefix: '/vendor/uplot/',
        decorateReply: false,
        allowedPath: (path) => UPLOT_FILES.has(path.replace(/^\//, '')),
      });
      addPageHeaders(scope);
      scope.setErrorHandler(consoleErrorHandler);
      scope.setNotFoundHandler((_request, reply) =>
        sendErrorPage(reply, 404, 'Not found', 'There is no such page in the console.'),
      );
      registerSessionRoutes(scope, {
        db,
        sessions,
        secureCookies,
        signInAttemptsPerMinute: o.signInAttemptsPerMinute,
        onSignedOut: () => live.refresh(),
      });
      registerOverviewPage(scope, overview, guard);
      registerAuditPage(scope, db, guard);
      registerSandboxPage(
        scope,
        { db, clock: o.clock, sms: o.sms, inboundWebhookUrl: o.inboundWebhookUrl },
        guard,
      );
      registerTemplatePages(scope, { db, templates: o.templates, sms: o.sms, clock: o.clock }, guard);
      registerVariantTestsPage(
        scope,
        { db, requiredConfidence: o.config.TEMPLATE_VARIANT_CONFIDENCE },
        guard,
      );
      registerUsersPages(scope, { db, clock: o.clock, preferences: o.preferences, config: o.config }, guard);
      registerLiveStream(scope, { live, sessions, guard, overview });
      registerActivity(scope, {
        database: o.database,
        clock: o.clock,
        timeZone: o.timeZone,
        guard,
        live,
        sessions,
      });
    },
    { prefix: CONSOLE_PATH },
  );
}

/**
 * Errors as pages a person can act on. A refused CSRF token is a 403 that says to reload; too many
 * sign-ins is the sign-in form again with 429. A 5xx goes to the API's handler, which logs it.
 */
function consoleErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (err.code?.startsWith('FST_CSRF_')) {
    void sendErrorPage(
      reply,
      403,
      'Form refused',
      'This form has expired or did not come from this console. Reload the page and try again.',
    );
    return;
  }
  const appError = toAppError(err);
  if (appError.status >= 500) {
    errorHandler(err, request, reply);
    return;
  }
  if (appError.code === 'RATE_LIMITED' && request.url.startsWith(`${CONSOLE_PATH}/sign-in`)) {
    void reply
      .code(429)
      .type('text/html; charset=utf-8')
      .send(signInPage(reply.generateCsrf(), 'Too many sign-in attempts from this address; wait a minute.'));
    return;
  }
  void sendErrorPage(reply, appError.status, 'Request refused', appError.message);
}

function sendErrorPage(reply: FastifyReply, status: number, title: string, message: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(
      layout(
        { title },
        html`<h1>${title}</h1><p>${message}</p><p><a href="${CONSOLE_PATH}/">Back to the console</a></p>`,
      ),
    );
}
