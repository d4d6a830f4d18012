import { type Html, html } from '../http/html.ts';
import type { ConsoleOperator } from './session.ts';

/** Where the console lives; every URL, cookie path and asset below it starts here. */
export const CONSOLE_PATH = '/console';

/**
 * The console's pages, in menu order: a new page adds its entry here and its module beside this one.
 * An `optional` page exists only in some set-ups (the console options say which are on).
 */
const NAV = [
  { id: 'overview', label: 'Overview', href: `${CONSOLE_PATH}/overview` },
  { id: 'activity', label: 'Activity', href: `${CONSOLE_PATH}/activity` },
  { id: 'templates', label: 'Templates', href: `${CONSOLE_PATH}/templates` },
  { id: 'users', label: 'Users', href: `${CONSOLE_PATH}/users` },
  { id: 'audit', label: 'Audit log', href: `${CONSOLE_PATH}/audit` },
  { id: 'sandbox', label: 'Sandbox phone', href: `${CONSOLE_PATH}/sandbox`, optional: true },
] as const;
export type PageId = (typeof NAV)[number]['id'];

const shownIn = (enabled: ReadonlySet<PageId>) => NAV.filter((n) => !('optional' in n) || enabled.has(n.id));

export interface PageShell {
  title: string;
  /** Signed-in pages name the operator and carry the sign-out form (with its CSRF token). */
  signedIn?: {
    operator: ConsoleOperator;
    csrfToken: string;
    current: PageId;
    /** The optional pages this set-up has: only those are in the menu. */
    enabled: ReadonlySet<PageId>;
  };
  /** ES modules under /console/assets/ this page runs. */
  scripts?: string[];
  /** Stylesheets besides the console's own (e.g. a chart library's). */
  styles?: string[];
}

/**
 * The frame of every page: landmarks (banner, navigation, main, contentinfo), a skip link, the
 * console's stylesheet. No inline script or style, so the Content-Security-Policy can forbid both.
 */
export function layout(shell: PageShell, main: Html): string {
  const s = shell.signedIn;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shell.title} · LaundryConnect Notify console</title>
<link rel="icon" href="data:,">
${(shell.styles ?? []).map((href) => html`<link rel="stylesheet" href="${href}">`)}
<link rel="stylesheet" href="${CONSOLE_PATH}/assets/console.css">
${(shell.scripts ?? []).map((src) => html`<script type="module" src="${CONSOLE_PATH}/assets/${src}"></script>`)}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <p class="brand">LaundryConnect Notify <span>console</span></p>
  ${
    s &&
    html`<nav aria-label="Console">
    <ul>${shownIn(s.enabled).map(
      (n) =>
        html`<li><a href="${n.href}"${n.id === s.current ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
    )}</ul>
  </nav>
  <form class="signout" method="post" action="${CONSOLE_PATH}/logout">
    <span>Signed in as <strong>${s.operator.name}</strong> (${s.operator.role})</span>
    <input type="hidden" name="_csrf" value="${s.csrfToken}">
    <button type="submit">Sign out</button>
  </form>`
  }
</header>
<main id="main" tabindex="-1">
${main}
</main>
<footer class="bottom"><p>Figures from the delivery stats (docs/stats.md); how to read them: docs/console.md.</p></footer>
</body>
</html>
`.value;
}
