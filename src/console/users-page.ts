import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { type Html, html } from '../http/html.ts';
import type { PreferenceRouteDeps } from '../http/routes/preferences.ts';
import { userIdParam } from '../http/routes/users.ts';
import { deliveryPolicyConfig } from '../preferences/delivery-policy.ts';
import { FLAG_FIELDS, type PreferenceView } from '../preferences/preference-fields.ts';
import {
  getPreferences,
  type PreferenceChangeHook,
  updatePreferences,
} from '../preferences/preferences-service.ts';
import { text } from '../text.ts';
import { recordAudit } from './audit-log.ts';
import { CONSOLE_PATH, layout } from './layout.ts';
import type { ConsoleOperator } from './session.ts';
import type { ConsoleGuard } from './session-routes.ts';
import { fullName, shownPhone, userHref, userMain, zoneLine } from './user-view.ts';
import {
  capUsage,
  findUserRow,
  recentNotifications,
  searchUsers,
  smsHistory,
  type UserRow,
} from './users-data.ts';

const RESULTS_PER_PAGE = 25;
const HISTORY_ROWS = 20;
const RECENT_NOTIFICATIONS = 10;

export interface UsersPageDeps {
  db: Db;
  clock: Clock;
  /** The API's preference deps: the same rules (opt-in confirmation, default quiet hours). */
  preferences: PreferenceRouteDeps;
  /** The SMS caps shown against the counts are the delivery policy's (SMS_*_CAP_PER_USER). */
  config: Config;
}

const searchQuery = z
  .object({
    q: text().trim().max(254).optional(),
    after: z.coerce.number().int().positive().optional(),
  })
  .strict();

const userPageQuery = z.object({ saved: z.literal('1').optional() }).strict();

/** The form's fields as the preferences PATCH takes them: an unticked box is sent as nothing, so false. */
function patchFromForm(form: Record<string, unknown>): Record<string, unknown> {
  const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string).trim() : '');
  const body: Record<string, unknown> = {};
  for (const name of FLAG_FIELDS.keys()) body[name] = form[name] === 'on';
  for (const name of ['quiet_hours_start', 'quiet_hours_end']) body[name] = field(name) || null;
  body['time_zone'] = field('time_zone');
  return body;
}

/** Only the fields an edit changed, before and after: what the audit entry shows. */
export function changedPreferences(before: PreferenceView, after: PreferenceView) {
  const fields = Object.keys(after).filter((k) => before[k] !== after[k]);
  const pick = (v: PreferenceView) => Object.fromEntries(fields.map((k) => [k, v[k]]));
  return { fields, before: pick(before), after: pick(after) };
}

function auditHook(operator: ConsoleOperator, externalId: string, at: Date): PreferenceChangeHook {
  return async (tx, before, after) => {
    const change = changedPreferences(before, after);
    if (change.fields.length === 0) return;
    await recordAudit(
      tx,
      operator,
      { action: 'preference.changed', targetType: 'user', targetId: externalId, ...change },
      at,
    );
  };
}

function searchMain(query: string | undefined, found: { users: UserRow[]; more: boolean } | undefined): Html {
  const next = found?.more ? found.users.at(-1) : undefined;
  return html`<h1>Users</h1>
<form method="get" action="${CONSOLE_PATH}/users" class="user-search" role="search">
<label for="q">User id, email or phone</label>
<input id="q" name="q" type="search" value="${query ?? ''}" required maxlength="254" spellcheck="false" aria-describedby="q-help">
<button type="submit">Find</button>
<p id="q-help" class="note search-help">Exact matches: the marketplace's user id, the whole email address as stored, or the
phone in E.164 (<code>+919876543210</code>; spaces and dashes are ignored).</p>
</form>
${
  found &&
  (found.users.length === 0
    ? html`<p role="status">No user matches “${query}”.</p>`
    : html`<div class="scroll" role="region" aria-label="Matching users" tabindex="0"><table id="user-results">
<caption>Users matching “${query}”</caption>
<thead><tr><th scope="col">User id</th><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Phone</th><th scope="col">Locale</th><th scope="col">Time zone</th></tr></thead>
<tbody>${found.users.map(
        (
          u,
        ) => html`<tr><td><a href="${userHref(u.externalId)}">${u.externalId}</a></td><td>${fullName(u)}</td>
<td>${u.email ?? '—'}</td><td>${shownPhone(u.phone)}</td><td>${u.locale}</td><td>${zoneLine(u)}</td></tr>`,
      )}</tbody></table></div>`)
}
${next && html`<p><a rel="next" href="${CONSOLE_PATH}/users?q=${encodeURIComponent(query ?? '')}&amp;after=${next.id}">More users</a></p>`}`;
}

/**
 * /console/users (find a user) and /console/users/:userId (their profile, preferences, SMS state
 * and notifications). Preferences are saved through the API's own updatePreferences, with the
 * audit entry written in its transaction.
 */
export function registerUsersPages(app: FastifyInstance, deps: UsersPageDeps, guard: ConsoleGuard): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { smsCaps } = deliveryPolicyConfig(deps.config);
  const send = (reply: FastifyReply, status: number, title: string, request: FastifyRequest, main: Html) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(layout({ title, signedIn: guard.shell(request, reply, 'users') }, main));

  const renderUser = async (
    request: FastifyRequest,
    reply: FastifyReply,
    externalId: string,
    refused?: { form: PreferenceView; errors: Map<string, string> },
  ) => {
    const user = await findUserRow(deps.db, externalId);
    if (!user) throw new AppError('USER_NOT_FOUND', `No user with id "${externalId}"`);
    const now = new Date(deps.clock.now());
    const current = await getPreferences(deps.db, externalId, deps.preferences.defaultQuietHours);
    const main = userMain({
      user,
      current,
      form: refused?.form ?? current,
      errors: refused?.errors ?? new Map(),
      saved: !refused && (request.query as { saved?: string }).saved === '1',
      canEdit: request.consoleOperator?.role === 'admin',
      csrfToken: reply.generateCsrf(),
      smsHistory: await smsHistory(deps.db, user.id, HISTORY_ROWS),
      caps: await capUsage(deps.db, user, smsCaps, now),
      notifications: await recentNotifications(deps.db, user.id, RECENT_NOTIFICATIONS),
    });
    return send(reply, refused ? 400 : 200, `User ${externalId}`, request, main);
  };

  r.get(
    '/users',
    { schema: { hide: true, querystring: searchQuery }, preHandler: guard.page },
    async (request, reply) => {
      const { q, after } = request.query;
      const found = q ? await searchUsers(deps.db, q, after, RESULTS_PER_PAGE) : undefined;
      return send(reply, 200, 'Users', request, searchMain(q, found));
    },
  );

  r.get(
    '/users/:userId',
    { schema: { hide: true, params: userIdParam, querystring: userPageQuery }, preHandler: guard.page },
    (request, reply) => renderUser(request, reply, request.params.userId),
  );

  r.post(
    '/users/:userId/preferences',
    {
      schema: { hide: true, params: userIdParam, body: z.record(z.string(), z.unknown()) },
      preValidation: app.csrfProtection,
      preHandler: guard.change,
    },
    async (request, reply) => {
      const externalId = request.params.userId;
      const operator = request.consoleOperator!;
      const patch = patchFromForm(request.body);
      try {
        await updatePreferences(
          deps.db,
          externalId,
          patch,
          `console:${operator.name}`,
          deps.preferences.defaultQuietHours,
          deps.preferences.onSmsOptIn,
          auditHook(operator, externalId, new Date(deps.clock.now())),
        );
      } catch (err) {
        const field = validationField(err);
        if (!field) throw err;
        const form = { user_id: externalId, ...patch } as PreferenceView;
        return renderUser(request, reply, externalId, {
          form,
          errors: new Map([[field.name, field.message]]),
        });
      }
      return reply.redirect(`${userHref(externalId)}?saved=1#preferences`, 303);
    },
  );
}

/** The field a refused preferences patch names (preference-fields.ts puts it in the error's details). */
function validationField(err: unknown): { name: string; message: string } | undefined {
  if (!(err instanceof AppError) || err.code !== 'VALIDATION_FAILED') return undefined;
  const [first] = (err.details?.['errors'] as Array<{ field: string; message: string }> | undefined) ?? [];
  return first && { name: first.field, message: first.message };
}
