import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  CATEGORIES,
  type Category,
  CHANNELS,
  type ChannelName,
  NOTIFICATION_TYPES,
} from '../catalog/catalog.ts';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { type Html, html } from '../http/html.ts';
import type { PreferenceRouteDeps } from '../http/routes/preferences.ts';
import { FLAG_FIELDS, type PreferenceView } from '../preferences/preference-fields.ts';
import { getPreferences, updatePreferences } from '../preferences/preferences-service.ts';
import { LOCALES } from '../templates/template-files.ts';
import { meLayout } from './layout.ts';
import { ME_PATH, type MeGuard, meUser } from './session.ts';
import type { PageShellOf } from './shell.ts';
import { getProfile, type Profile, parseLocale, setLocale } from './user-profile.ts';

const CATEGORY_LABELS: Readonly<Record<Category, string>> = {
  order_updates: 'Order updates',
  payment_updates: 'Payments and refunds',
  account: 'Your account',
  partner: 'Partner business',
  promotions: 'Offers and news',
};
const CHANNEL_LABELS: Readonly<Record<ChannelName, string>> = {
  in_app: 'In the app',
  email: 'Email',
  sms: 'SMS',
  push: 'Push',
};
const LOCALE_LABELS: Readonly<Record<(typeof LOCALES)[number], string>> = {
  en: 'English',
  hi: 'हिन्दी (Hindi)',
  ta: 'தமிழ் (Tamil)',
};

/** Every zone this runtime knows, the same set the API accepts (time-zone.ts). */
const TIME_ZONES: readonly string[] = Intl.supportedValuesOf('timeZone');

type FieldErrors = Record<string, string>;

/**
 * The boxes worth showing a user: a category × channel some notification type for their role is
 * sent on (the catalog decides: no promotion goes by SMS, a customer gets no partner payouts). The
 * others are left as they are, so the page never turns off what it does not show.
 */
function offeredFlags(role: string): Set<string> {
  const types = NOTIFICATION_TYPES.filter(
    (t) => role === 'admin' || t.recipient === 'any' || t.recipient === role,
  );
  return new Set(types.flatMap((t) => t.channels.map((channel) => `${t.category}_${channel}`)));
}

interface PageState {
  view: PreferenceView;
  profile: Profile;
  /** After a save: what the user sent, shown again with the errors beside their fields. */
  errors?: FieldErrors;
  saved?: boolean;
}

const fieldError = (errors: FieldErrors | undefined, field: string) =>
  errors?.[field] && html`<p class="field-error" id="${field}-error">${errors[field]}</p>`;
const invalidAttrs = (errors: FieldErrors | undefined, field: string) =>
  errors?.[field] ? html` aria-invalid="true" aria-describedby="${field}-error"` : '';

function flagTable(view: PreferenceView, offered: Set<string>): Html {
  const categories = CATEGORIES.filter((c) => CHANNELS.some((channel) => offered.has(`${c}_${channel}`)));
  return html`<div class="table-wrap"><table class="flags">
<caption>Tick how you want to hear about each kind of notification.</caption>
<thead><tr><th scope="col">Notifications</th>${CHANNELS.map((c) => html`<th scope="col">${CHANNEL_LABELS[c]}</th>`)}</tr></thead>
<tbody>${categories.map(
    (category) =>
      html`<tr><th scope="row">${CATEGORY_LABELS[category]}</th>${CHANNELS.map((channel) => {
        const name = `${category}_${channel}`;
        const label = `${CATEGORY_LABELS[category]} by ${CHANNEL_LABELS[channel]}`;
        if (!offered.has(name))
          return html`<td class="na"><span aria-hidden="true">—</span><span class="visually-hidden">${label}: not sent</span></td>`;
        return html`<td><label class="flag"><input type="checkbox" name="${name}" value="on"${view[name] ? html` checked` : ''}><span class="visually-hidden">${label}</span></label></td>`;
      })}</tr>`,
  )}</tbody>
</table></div>`;
}

function preferencesMain(state: PageState, csrfToken: string): Html {
  const { view, errors } = state;
  const zones = TIME_ZONES.includes(String(view['time_zone']))
    ? TIME_ZONES
    : [String(view['time_zone']), ...TIME_ZONES];
  return html`<h1>Notification preferences</h1>
${state.saved && html`<p class="notice" role="status">Saved. Your choices apply from now on.</p>`}
${errors && html`<div class="error" role="alert"><p>Nothing was saved: correct the fields marked below.</p></div>`}
<form method="post" action="${ME_PATH}/preferences" class="preferences" novalidate>
<input type="hidden" name="_csrf" value="${csrfToken}">
<fieldset><legend>Channels</legend>
${flagTable(view, offeredFlags(state.profile.role))}
${fieldError(errors, 'flags')}
</fieldset>
<section class="sms-consent" aria-labelledby="sms-consent-title">
<h2 id="sms-consent-title">About SMS</h2>
<p>Ticking an SMS box is your consent to receive text messages from LaundryConnect about that kind of
notification at your phone number on file. When you first turn SMS on we send one text to confirm it.
Message and data rates from your mobile operator may apply; we never charge for them.</p>
${
  !state.profile.hasPhone &&
  html`<p><strong>We have no mobile number for you</strong>, so no SMS can reach you until one is added to your LaundryConnect account.</p>`
}
<p>To stop every SMS at any time, reply <strong>STOP</strong> to any of our texts (this page then
shows SMS off); reply <strong>START</strong> to turn them back on, or <strong>HELP</strong> for help.</p>
</section>
<fieldset><legend>Quiet hours</legend>
<p class="note" id="quiet-help">Non-urgent notifications wait until quiet hours end. Leave both empty for none.</p>
<div class="row">
<div class="field"><label for="quiet_hours_start">From</label>
<input type="time" id="quiet_hours_start" name="quiet_hours_start" value="${String(view['quiet_hours_start'] ?? '')}"${invalidAttrs(errors, 'quiet_hours_start')}>
${fieldError(errors, 'quiet_hours_start')}</div>
<div class="field"><label for="quiet_hours_end">Until</label>
<input type="time" id="quiet_hours_end" name="quiet_hours_end" value="${String(view['quiet_hours_end'] ?? '')}"${invalidAttrs(errors, 'quiet_hours_end')}>
${fieldError(errors, 'quiet_hours_end')}</div>
</div>
</fieldset>
<fieldset><legend>Language and time zone</legend>
<div class="field"><label for="locale">Language of your messages</label>
<select id="locale" name="locale"${invalidAttrs(errors, 'locale')}>${LOCALES.map(
    (l) =>
      html`<option value="${l}"${state.profile.locale.split('-')[0] === l ? html` selected` : ''}>${LOCALE_LABELS[l]}</option>`,
  )}</select>
${fieldError(errors, 'locale')}</div>
<div class="field"><label for="time_zone">Time zone</label>
<select id="time_zone" name="time_zone"${invalidAttrs(errors, 'time_zone')}>${zones.map(
    (z) => html`<option${z === view['time_zone'] ? html` selected` : ''}>${z}</option>`,
  )}</select>
${fieldError(errors, 'time_zone')}</div>
</fieldset>
<button type="submit">Save preferences</button>
</form>`;
}

/**
 * The form as the PATCH body the preferences API takes: a box shown but not sent was unticked, so
 * it is off; a box not shown is not in the patch.
 */
function patchFromForm(form: Record<string, unknown>, offered: Set<string>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const name of FLAG_FIELDS.keys()) if (offered.has(name)) patch[name] = form[name] === 'on';
  for (const field of ['quiet_hours_start', 'quiet_hours_end'] as const) {
    const value = typeof form[field] === 'string' ? form[field].trim() : '';
    patch[field] = value === '' ? null : value;
  }
  patch['time_zone'] = typeof form['time_zone'] === 'string' ? form['time_zone'] : undefined;
  return patch;
}

/** A refusal of the preferences service, as messages beside the fields it names. */
function errorsOf(err: AppError): FieldErrors {
  const listed = (err.details?.['errors'] ?? []) as Array<{ field: string; message: string }>;
  if (listed.length > 0) return Object.fromEntries(listed.map((e) => [e.field, e.message]));
  return { flags: err.message };
}

export interface PreferencesPageDeps {
  db: Db;
  preferences: PreferenceRouteDeps;
  shell: PageShellOf;
  guard: MeGuard;
}

/**
 * `/me/preferences`: the preference centre. It reads and saves through the very functions the
 * preferences API's GET and PATCH call, with the actor `user:<id>` the API records for a user's own
 * token, so what the page shows is what the API answers.
 */
export function registerPreferencesPage(scope: FastifyInstance, deps: PreferencesPageDeps): void {
  const p = deps.preferences;
  const send = async (reply: FastifyReply, userId: string, status: number, state: PageState) => {
    const shell = await deps.shell(reply, userId, 'preferences');
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(meLayout({ title: 'Preferences', signedIn: shell }, preferencesMain(state, shell.csrfToken)));
  };

  scope.get(
    '/preferences',
    { schema: { hide: true }, onRequest: deps.guard.page },
    async (request, reply) => {
      const userId = meUser(request);
      const view = await getPreferences(p.db, userId, p.defaultQuietHours);
      const saved = (request.query as Record<string, unknown>)['saved'] === '1';
      return send(reply, userId, 200, { view, profile: await getProfile(deps.db, userId), saved });
    },
  );

  scope.post(
    '/preferences',
    { schema: { hide: true }, preValidation: deps.guard.change },
    async (request, reply) => {
      const userId = meUser(request);
      const form = (request.body ?? {}) as Record<string, unknown>;
      const profile = await getProfile(deps.db, userId);
      const patch = patchFromForm(form, offeredFlags(profile.role));
      try {
        // Checked first, so a bad language refuses the whole form before anything is written.
        const locale = parseLocale(form['locale']);
        await updatePreferences(p.db, userId, patch, `user:${userId}`, p.defaultQuietHours, p.onSmsOptIn);
        await setLocale(deps.db, userId, locale);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'VALIDATION_FAILED') throw err;
        // The page again with what was sent, so nothing typed is lost; the view keeps the user id.
        const view: PreferenceView = { ...(await getPreferences(p.db, userId, p.defaultQuietHours)) };
        for (const [k, v] of Object.entries(patch))
          if (v !== undefined) view[k] = v as string | boolean | null;
        if (typeof form['locale'] === 'string') profile.locale = form['locale'];
        return send(reply, userId, 400, { view, profile, errors: errorsOf(err) });
      }
      // Post/redirect/get: a reload shows the saved state and posts nothing twice.
      return reply.redirect(`${ME_PATH}/preferences?saved=1`, 303);
    },
  );
}
