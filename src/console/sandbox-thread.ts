import { createHash } from 'node:crypto';
import { type Html, html } from '../http/html.ts';
import type { SandboxMessage } from '../sandbox/server.ts';
import { formatCount } from './format.ts';
import { CONSOLE_PATH } from './layout.ts';

/*
 * Phone numbers are shown in full on these pages, unlike in the logs: the sandbox carries only
 * fake test traffic, and an operator driving a test phone has to see which number is which.
 */

/** What the service's inbound webhook answered one text sent from the sandbox phone. */
export interface WebhookAnswer {
  status: number;
  /** The `<Message>` texts of its TwiML answer: what Twilio would text back. */
  replies: string[];
  /** Set when the webhook could not be reached or timed out. */
  error?: string;
}

/** The phone a message belongs to: the recipient of an outbound one, the sender of an inbound one. */
export function phoneOf(m: SandboxMessage): string | null {
  return m.direction === 'inbound' ? m.from : m.to;
}

export interface NumberSummary {
  number: string;
  received: number;
  sent: number;
  lastAt: number;
}

/** Every number the sandbox holds messages for, most recently active first. */
export function summarizeNumbers(newestFirst: SandboxMessage[]): NumberSummary[] {
  const byNumber = new Map<string, NumberSummary>();
  for (const m of newestFirst) {
    const number = phoneOf(m);
    if (number === null) continue;
    let s = byNumber.get(number);
    if (!s) {
      s = { number, received: 0, sent: 0, lastAt: m.dateUpdated };
      byNumber.set(number, s);
    }
    if (m.direction === 'inbound') s.sent++;
    else s.received++;
    s.lastAt = Math.max(s.lastAt, m.dateUpdated);
  }
  return [...byNumber.values()].sort((a, b) => b.lastAt - a.lastAt);
}

export const threadHref = (number: string) => `${CONSOLE_PATH}/sandbox/${encodeURIComponent(number)}`;

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const stamp = (ms: number) => html`<time datetime="${new Date(ms).toISOString()}">${clock(ms)}</time>`;

export function numberTable(numbers: NumberSummary[]): Html {
  if (numbers.length === 0)
    return html`<p>The sandbox holds no messages yet. Create a notification for a user with SMS on, and its text shows up here.</p>`;
  return html`<div class="scroll" role="region" aria-label="Numbers" tabindex="0"><table>
<caption>Numbers the sandbox holds messages for, most recent first</caption>
<thead><tr><th scope="col">Number</th><th scope="col">Texts to the phone</th><th scope="col">Texts from the phone</th><th scope="col">Last activity (UTC)</th></tr></thead>
<tbody>${numbers.map(
    (n) =>
      html`<tr><th scope="row"><a href="${threadHref(n.number)}">${n.number}</a></th><td>${formatCount(n.received)}</td><td>${formatCount(n.sent)}</td><td>${stamp(n.lastAt)}</td></tr>`,
  )}</tbody></table></div>`;
}

/** queued → sent → delivered, or the failure with its Twilio error code. */
function timeline(m: SandboxMessage): Html {
  return html`<ol class="timeline" aria-label="Status callbacks">${m.history.map((h) => {
    const failed = h.status === 'failed' || h.status === 'undelivered';
    return html`<li class="${failed ? 'failed' : ''}"><span class="status">${h.status}</span> ${stamp(h.at)}${
      failed && m.errorCode !== null
        ? html` <span class="code">error ${m.errorCode}${m.errorMessage ? html`: ${m.errorMessage}` : ''}</span>`
        : ''
    }</li>`;
  })}</ol>`;
}

function answerNote(answer: WebhookAnswer | undefined): Html {
  if (!answer) return html``;
  const replies = answer.replies.map(
    (r) =>
      html`<li class="bubble out reply"><p class="text">${r}</p><p class="meta">Reply in the service's TwiML answer</p></li>`,
  );
  if (answer.error)
    return html`<li class="answer"><p class="meta">The service's inbound webhook failed: ${answer.error}</p></li>`;
  return html`<li class="answer"><p class="meta">The service's inbound webhook answered HTTP ${answer.status}${
    answer.replies.length === 0 ? ' with no reply text' : ''
  }.</p></li>${replies}`;
}

/**
 * An MMS's images. Only an https URL becomes an `<img src>` (escaped like every value): anything
 * else a create sent is shown as text, so the page never loads from a script or plain-http URL.
 */
function media(m: SandboxMessage): Html {
  if (m.mediaUrls.length === 0) return html``;
  return html`<p class="media">${m.mediaUrls.map((url) =>
    url.startsWith('https://')
      ? html`<img src="${url}" alt="MMS image" loading="lazy" referrerpolicy="no-referrer" width="120">`
      : html`<span class="meta">media not shown (not https): ${url}</span>`,
  )}</p>`;
}

function bubble(m: SandboxMessage, answers: ReadonlyMap<string, WebhookAnswer>): Html {
  if (m.direction === 'inbound')
    return html`<li class="bubble in" data-sid="${m.sid}"><p class="text">${m.body}</p><p class="meta">From this phone · ${stamp(m.dateCreated)}</p></li>${answerNote(answers.get(m.sid))}`;
  return html`<li class="bubble out" data-sid="${m.sid}" data-status="${m.status}">${media(m)}<p class="text">${m.body}</p><p class="meta">From ${m.from ?? 'the service'} · ${stamp(m.dateCreated)} · <strong>${m.status}</strong></p>${timeline(m)}</li>`;
}

export interface ThreadView {
  /** Changes whenever the markup does: the page's script swaps the thread only then. */
  version: string;
  markup: string;
}

/** One phone's messages, oldest first as on a phone, each outbound one with its status timeline. */
export function renderThread(
  number: string,
  newestFirst: SandboxMessage[],
  answers: ReadonlyMap<string, WebhookAnswer>,
): ThreadView {
  const mine = newestFirst.filter((m) => phoneOf(m) === number).reverse();
  const markup = (
    mine.length === 0
      ? html`<li class="answer"><p class="meta">No messages for this number yet.</p></li>`
      : html`${mine.map((m) => bubble(m, answers))}`
  ).value;
  return { version: createHash('sha1').update(markup).digest('hex'), markup };
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

/** The texts a TwiML answer asks Twilio to send back (its `<Message>` elements). */
export function twimlReplies(body: string): string[] {
  return [...body.matchAll(/<Message(?:\s[^>]*)?>([\s\S]*?)<\/Message>/g)].map((m) =>
    (m[1] ?? '').replace(/&(lt|gt|amp|apos|quot);/g, (_, e: string) => XML_ENTITIES[e] ?? ''),
  );
}
