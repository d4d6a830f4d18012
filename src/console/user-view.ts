/**
 * The markup of one user's console page (pure): profile, the preferences form, SMS opt-in state
 * and history, cap usage, latest notifications. The routes (users-page.ts) load the data.
 */

import { CATEGORIES, CHANNELS } from '../catalog/catalog.ts';
import { maskPhone } from '../channels/sms/phone.ts';
import { type Html, html } from '../http/html.ts';
import type { PreferenceView } from '../preferences/preference-fields.ts';
import { effectiveTimeZone, type TimeZoneSource } from '../user-time-zone.ts';
import { CHANNEL_LABELS, formatCount } from './format.ts';
import { CONSOLE_PATH } from './layout.ts';
import type { CapUsage, RecentNotification, SmsChange, UserRow } from './users-data.ts';

export interface UserPageData {
  user: UserRow;
  /** The preferences as saved: what the SMS state says. */
  current: PreferenceView;
  /** What the form shows: the saved preferences, or the refused submission with its errors. */
  form: PreferenceView;
  /** Field name → why the submission was refused; empty when nothing was refused. */
  errors: ReadonlyMap<string, string>;
  saved: boolean;
  /** Viewers see the form disabled, with no button. */
  canEdit: boolean;
  csrfToken: string;
  smsHistory: SmsChange[];
  caps: CapUsage;
  notifications: RecentNotification[];
}

/** `order_updates` → `Order updates`. */
export const categoryLabel = (c: string) => (c.charAt(0).toUpperCase() + c.slice(1)).replaceAll('_', ' ');

/** Masked as the logs mask it: the console never shows a whole number, to viewers or admins. */
export const shownPhone = (phone: string | null) => (phone ? maskPhone(phone) : '—');

export const fullName = (u: UserRow) => [u.firstName, u.lastName].filter(Boolean).join(' ') || '—';

export const userHref = (externalId: string) => `${CONSOLE_PATH}/users/${encodeURIComponent(externalId)}`;

const utc = (d: Date) =>
  html`<time datetime="${d.toISOString()}">${d.toISOString().slice(0, 16).replace('T', ' ')}</time>`;

const ZONE_SOURCES: Record<TimeZoneSource, string> = {
  user: 'own setting',
  phone: 'from the phone number',
  default: 'service default: no own setting, no phone country',
};

/** The zone their quiet hours and caps follow, and where it comes from. */
export function zoneLine(u: UserRow): Html {
  const { zone, source } = effectiveTimeZone(u);
  return html`${zone} <span class="note">(${ZONE_SOURCES[source]})</span>`;
}

export function userMain(d: UserPageData): Html {
  const u = d.user;
  const id = encodeURIComponent(u.externalId);
  return html`<h1>User ${u.externalId}</h1>
<p><a href="${CONSOLE_PATH}/users">Find another user</a> · <a href="${CONSOLE_PATH}/activity?user_id=${id}">All their notifications</a> · <a href="${CONSOLE_PATH}/audit?target_type=user&amp;target_id=${id}">Console changes to this user</a></p>
<h2>Profile</h2>
<dl class="profile">
<div><dt>Name</dt><dd>${fullName(u)}</dd></div>
<div><dt>Email</dt><dd>${u.email ?? '—'}</dd></div>
<div><dt>Phone</dt><dd>${shownPhone(u.phone)}</dd></div>
<div><dt>Locale</dt><dd>${u.locale}</dd></div>
<div><dt>Time zone</dt><dd id="time-zone">${zoneLine(u)}</dd></div>
<div><dt>Role</dt><dd>${u.role}</dd></div>
<div><dt>Created</dt><dd>${utc(u.createdAt)} UTC</dd></div>
</dl>
<p class="note">Phone numbers are masked here as in the logs; the profile is changed by the marketplace
(<code>PUT /api/v1/users/:id</code>), not from the console.</p>
${attributesSection(u)}
${preferencesForm(d)}
${smsSection(d)}
${notificationsSection(d)}`;
}

/**
 * The backend's attributes, by name. A string is shown as the text it is; a number or boolean
 * carries its type, since a filter tells `5` from `"5"`. All of it is the marketplace's input: the
 * html tag escapes every value.
 */
function attributesSection(u: UserRow): Html {
  const entries = Object.entries(u.attributes).sort(([a], [b]) => (a < b ? -1 : 1));
  return html`<h2 id="attributes">Attributes</h2>
${
  entries.length === 0
    ? html`<p>No attributes set.</p>`
    : html`<div class="scroll" role="region" aria-label="Attributes" tabindex="0"><table id="user-attributes">
<thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead>
<tbody>${entries.map(
        ([name, value]) =>
          html`<tr><th scope="row"><code>${name}</code></th><td>${typeof value === 'string' ? value || html`<span class="note">(empty)</span>` : html`<code>${String(value)}</code> <span class="note">(${typeof value})</span>`}</td></tr>`,
      )}</tbody></table></div>`
}`;
}

function fieldError(d: UserPageData, field: string): Html | '' {
  const message = d.errors.get(field);
  return message ? html`<p class="field-error" id="${field}-error">${message}</p>` : '';
}

/** aria attributes of an input whose field may have been refused. */
function described(d: UserPageData, field: string, help?: string): Html {
  const ids = [help, d.errors.has(field) ? `${field}-error` : undefined].filter(Boolean).join(' ');
  return html`${ids ? html` aria-describedby="${ids}"` : ''}${d.errors.has(field) ? html` aria-invalid="true"` : ''}`;
}

function preferencesForm(d: UserPageData): Html {
  const f = d.form;
  const action = `${userHref(d.user.externalId)}/preferences`;
  const text = (name: string) => (typeof f[name] === 'string' ? (f[name] as string) : '');
  return html`<h2 id="preferences">Preferences</h2>
${d.saved && html`<p class="saved" role="status">Preferences saved.</p>`}
${
  d.errors.size > 0 &&
  html`<div class="error" role="alert"><p>Not saved: ${[...d.errors.values()].join('; ')}</p></div>`
}
${
  !d.canEdit &&
  html`<p class="note" id="read-only">Read-only: a viewer key may look but not change. Sign in with an admin key to edit.</p>`
}
<form method="post" action="${action}" class="preferences">
<input type="hidden" name="_csrf" value="${d.csrfToken}">
<fieldset${d.canEdit ? '' : html` disabled aria-describedby="read-only"`}>
<legend>Channels per category</legend>
<div class="scroll" role="region" aria-label="Channels per category" tabindex="0"><table class="grid" id="preference-grid">
<thead><tr><th scope="col">Category</th>${CHANNELS.map((c) => html`<th scope="col">${CHANNEL_LABELS[c]}</th>`)}</tr></thead>
<tbody>${CATEGORIES.map(
    (cat) =>
      html`<tr><th scope="row">${categoryLabel(cat)}</th>${CHANNELS.map((ch) => {
        const name = `${cat}_${ch}`;
        return html`<td><input type="checkbox" name="${name}" id="${name}" value="on" aria-label="${categoryLabel(cat)}: ${CHANNEL_LABELS[ch]}"${f[name] === true ? html` checked` : ''}></td>`;
      })}</tr>`,
  )}</tbody></table></div>
<div class="settings">
<div><label for="quiet_hours_start">Quiet hours from</label>
<input type="time" id="quiet_hours_start" name="quiet_hours_start" value="${text('quiet_hours_start')}"${described(d, 'quiet_hours_start', 'quiet-help')}>
${fieldError(d, 'quiet_hours_start')}</div>
<div><label for="quiet_hours_end">Quiet hours until</label>
<input type="time" id="quiet_hours_end" name="quiet_hours_end" value="${text('quiet_hours_end')}"${described(d, 'quiet_hours_end', 'quiet-help')}>
${fieldError(d, 'quiet_hours_end')}</div>
<div><label for="time_zone">Time zone</label>
<input type="text" id="time_zone" name="time_zone" value="${text('time_zone')}" spellcheck="false"${described(d, 'time_zone', 'tz-help')}>
${fieldError(d, 'time_zone')}</div>
</div>
<p class="note" id="quiet-help">Quiet hours are local times (HH:MM, 24-hour) in the user's time zone; regular SMS and push wait until they end. Leave both empty for none.</p>
<p class="note" id="tz-help">An IANA time zone, e.g. Asia/Kolkata. The caps and quiet hours follow it.</p>
${d.canEdit && html`<button type="submit">Save preferences</button>`}
</fieldset>
</form>`;
}

const SOURCE_LABELS: Record<string, string> = {
  api: 'API or console',
  stop_keyword: 'STOP reply',
  start_keyword: 'START reply',
  twilio_21610: 'Twilio: number opted out (21610)',
  list_unsubscribe: 'Unsubscribe link',
};

function capLine(used: number, cap: number): Html {
  return cap > 0
    ? html`${formatCount(used)} of ${formatCount(cap)}${used >= cap ? html` <strong>(cap reached)</strong>` : ''}`
    : html`${formatCount(used)} (no cap)`;
}

function smsSection(d: UserPageData): Html {
  const smsOn = CATEGORIES.filter((c) => d.current[`${c}_sms`] === true);
  const { caps } = d.caps;
  return html`<h2>SMS</h2>
<p id="sms-state">${
    smsOn.length > 0
      ? html`<strong>Opted in</strong>: SMS on for ${smsOn.length} of ${CATEGORIES.length} categories.`
      : html`<strong>Opted out</strong>: SMS off in every category.`
  }</p>
<dl class="figures caps">
<div><dt>Sent today</dt><dd data-cap="today">${capLine(d.caps.today, caps.daily)}</dd></div>
<div><dt>Sent this month</dt><dd data-cap="month">${capLine(d.caps.thisMonth, caps.monthly)}</dd></div>
</dl>
<p class="note">Counted as the caps count them: SMS not skipped or failed, by the user's local day and month
(${effectiveTimeZone(d.user).zone}).${caps.exemptCritical ? ' Critical notifications are exempt from the caps.' : ''}</p>
<h3>Opt-in and opt-out history</h3>
${
  d.smsHistory.length === 0
    ? html`<p>No SMS preference change recorded.</p>`
    : html`<div class="scroll" role="region" aria-label="SMS preference changes" tabindex="0"><table id="sms-history">
<thead><tr><th scope="col">When (UTC)</th><th scope="col">Category</th><th scope="col">Change</th><th scope="col">By</th></tr></thead>
<tbody>${d.smsHistory.map(
        (c) => html`<tr><td>${utc(c.createdAt)}</td><td>${categoryLabel(c.category)}</td>
<td>${c.fromEnabled === null ? '—' : c.fromEnabled ? 'on' : 'off'} → ${c.toEnabled ? 'on' : 'off'}</td>
<td>${SOURCE_LABELS[c.source] ?? c.source}${c.actor ? html` (${c.actor})` : ''}${c.reason ? html`: ${c.reason}` : ''}</td></tr>`,
      )}</tbody></table></div>`
}`;
}

function notificationsSection(d: UserPageData): Html {
  const id = encodeURIComponent(d.user.externalId);
  return html`<h2>Latest notifications</h2>
${
  d.notifications.length === 0
    ? html`<p>No notifications yet.</p>`
    : html`<div class="scroll" role="region" aria-label="Latest notifications" tabindex="0"><table id="recent-notifications">
<thead><tr><th scope="col">When (UTC)</th><th scope="col">Type</th><th scope="col">Title</th><th scope="col">Deliveries</th></tr></thead>
<tbody>${d.notifications.map(
        (n) => html`<tr><td>${utc(n.createdAt)}</td><td><code>${n.type}</code></td><td>${n.title}</td>
<td>${n.deliveries.map(
          (x, i) =>
            html`${i > 0 ? ', ' : ''}${CHANNEL_LABELS[x.channel as keyof typeof CHANNEL_LABELS] ?? x.channel}: ${x.status}${x.skipReason ? html` (${x.skipReason})` : ''}`,
        )}</td></tr>`,
      )}</tbody></table></div>`
}
<p><a href="${CONSOLE_PATH}/activity?user_id=${id}">All notifications of this user</a></p>`;
}
