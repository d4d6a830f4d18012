import { requestTotal } from '../channels/sms/routing/health-window.ts';
import type { HistoryEntry, ProviderSnapshot, RoutingSnapshot } from '../channels/sms/routing/snapshot.ts';
import { type Html, html } from '../http/html.ts';
import { formatCount, formatRate } from './format.ts';
import { formatLocalDateTime } from './zoned-time.ts';

/**
 * The overview's "SMS providers" section: the router's snapshot as GET /api/v1/sms/providers gives
 * it (src/stats/sms-providers.ts), one row per enabled provider and the last routing changes.
 * Display only: every state, share and reason is the router's.
 */

/** The overview shows the newest changes only; the API has the router's whole history. */
const HISTORY_SHOWN = 10;

const STATE_LABELS: Record<ProviderSnapshot['state'], string> = {
  in_rotation: 'In rotation',
  out: 'Out of rotation',
  probing: 'Probing',
};

const CHANGE_LABELS: Record<HistoryEntry['change'], string> = {
  weight: 'Weight shift',
  rotation: 'Rotation',
};

function when(iso: string, timeZone: string): Html {
  return html`<time datetime="${iso}">${formatLocalDateTime(new Date(iso), timeZone)}</time>`;
}

function state(p: ProviderSnapshot, timeZone: string): Html {
  if (p.state === 'in_rotation' || p.outSince === null)
    return html`<strong>${STATE_LABELS[p.state]}</strong>`;
  // A probing provider is still out since then: the probe decides whether it comes back.
  const out = html`since ${when(p.outSince, timeZone)}: ${p.outCause}`;
  return p.state === 'out'
    ? html`<strong>${STATE_LABELS.out}</strong> ${out}${
        p.nextProbeAt && html`<span class="note">next probe from ${when(p.nextProbeAt, timeZone)}</span>`
      }`
    : html`<strong>${STATE_LABELS.probing}</strong>: a probe request is in flight<span class="note">out ${out}</span>`;
}

function health(p: ProviderSnapshot): Html {
  if (p.healthy) return html`Healthy`;
  if (p.unhealthyReason) return html`Unhealthy: ${p.unhealthyReason}`;
  // The window is judged only while in rotation; the state column says why it is out.
  return html`<span class="note">not judged while out of rotation</span>`;
}

/** `IN 40/50 · US 70/70`: now/resting in each route that lists the provider. */
function weights(p: ProviderSnapshot): string {
  if (p.weights.length === 0) return '—';
  return p.weights.map((w) => `${w.route} ${w.current}/${w.resting}`).join(' · ');
}

/** A weight change is of the shift in points (signed), a rotation change of the state. */
function fromTo(h: HistoryEntry): string {
  const v = (x: number | string) => (typeof x === 'number' && x > 0 ? `+${x}` : String(x));
  return `${v(h.from)} → ${v(h.to)}`;
}

function providerTable(routing: RoutingSnapshot, timeZone: string): Html {
  // One health window for every provider (the routing config's health settings).
  const windowMs = routing.providers[0]?.window.ms ?? 0;
  return html`<div class="scroll" role="region" aria-label="SMS providers" tabindex="0"><table class="providers">
<caption>Enabled SMS providers as of ${when(routing.at, timeZone)} (${timeZone}); counts over the last ${formatCount(windowMs / 60_000)} min</caption>
<thead><tr><th scope="col">Provider</th><th scope="col">State</th><th scope="col">Health</th><th scope="col">Weight now/resting per route</th><th scope="col">Requests</th><th scope="col">Failed</th><th scope="col">Slow deliveries</th></tr></thead>
<tbody>${routing.providers.map(
    (p) =>
      html`<tr data-provider="${p.name}"><th scope="row">${p.name}</th><td>${state(p, timeZone)}</td><td>${health(p)}</td><td>${weights(p)}</td><td>${formatCount(requestTotal(p.window))}</td><td>${formatRate(p.window.failedShare)}</td><td>${formatRate(p.window.slowShare)}<span class="basis">of ${formatCount(p.window.delivered)} delivered</span></td></tr>`,
  )}</tbody>
</table></div>`;
}

function historyTable(routing: RoutingSnapshot, timeZone: string): Html {
  if (routing.history.length === 0) return html`<p>No routing change since the service started.</p>`;
  const newest = routing.history.slice(-HISTORY_SHOWN).reverse();
  return html`<div class="scroll" role="region" aria-label="Routing changes" tabindex="0"><table class="routing-changes">
<caption>The last ${formatCount(newest.length)} routing changes, newest first (times in ${timeZone})</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Provider</th><th scope="col">Change</th><th scope="col">From → to</th><th scope="col">Reason</th></tr></thead>
<tbody>${newest.map(
    (h) =>
      html`<tr><td>${when(h.at, timeZone)}</td><td>${h.provider}</td><td>${CHANGE_LABELS[h.change]}</td><td>${fromTo(h)}</td><td>${h.reason}</td></tr>`,
  )}</tbody>
</table></div>`;
}

/** Null routing: no provider is configured and enabled (SMS off), so there is no router. */
export function smsProvidersSection(routing: RoutingSnapshot | null, timeZone: string): Html {
  if (routing === null || routing.providers.length === 0)
    return html`<p>No SMS provider is enabled (SMS is off), so nothing is routed.</p>`;
  return html`${providerTable(routing, timeZone)}
<h3>Routing changes</h3>${historyTable(routing, timeZone)}`;
}
