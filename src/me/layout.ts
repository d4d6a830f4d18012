import { type Html, html } from '../http/html.ts';
import { ME_PATH } from './session.ts';

const NAV = [
  { id: 'inbox', label: 'Inbox', href: `${ME_PATH}/inbox` },
  { id: 'preferences', label: 'Preferences', href: `${ME_PATH}/preferences` },
] as const;
export type MePageId = (typeof NAV)[number]['id'];

export interface MeShell {
  title: string;
  /** Signed-in pages: the menu (with the unread badge) and the sign-out form's CSRF token. */
  signedIn?: { current: MePageId; unread: number; csrfToken: string };
  /** ES modules under /me/assets/ this page runs. */
  scripts?: string[];
}

/** The unread badge's text, shared with the page script so both say the same. */
export function unreadLabel(unread: number): string {
  return `${unread} unread`;
}

/**
 * The frame of every end-user page: landmarks, a skip link, one stylesheet, no inline script or
 * style (the CSP forbids both). Laid out for a phone first: the user arrives from a message.
 */
export function meLayout(shell: MeShell, main: Html): string {
  const s = shell.signedIn;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shell.title} · LaundryConnect notifications</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ME_PATH}/assets/me.css">
${(shell.scripts ?? []).map((src) => html`<script type="module" src="${ME_PATH}/assets/${src}"></script>`)}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <p class="brand">LaundryConnect <span>notifications</span></p>
  ${
    s &&
    html`<nav aria-label="Your notifications">
    <ul>${NAV.map(
      (n) =>
        html`<li><a href="${n.href}"${n.id === s.current ? html` aria-current="page"` : ''}>${n.label}${
          n.id === 'inbox'
            ? html` <span class="badge" id="unread-badge" data-unread="${s.unread}">${unreadLabel(s.unread)}</span>`
            : ''
        }</a></li>`,
    )}</ul>
  </nav>
  <form class="signout" method="post" action="${ME_PATH}/sign-out">
    <input type="hidden" name="_csrf" value="${s.csrfToken}">
    <button type="submit">Sign out</button>
  </form>`
  }
</header>
<main id="main" tabindex="-1">
${main}
</main>
</body>
</html>
`.value;
}
