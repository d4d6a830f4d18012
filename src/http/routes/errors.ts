import type { FastifyInstance } from 'fastify';
import { ERRORS, ERRORS_PAGE, type ErrorCode, errorAnchor } from '../../errors.ts';

/**
 * The error catalogue as a page, where every problem+json `type` points (`/errors#user-not-found`).
 * Built from the one catalogue (errors.ts) at start, so it lists exactly the codes the API can answer.
 */
export function registerErrorRoutes(app: FastifyInstance): void {
  const page = renderErrorsPage();
  app.get(
    ERRORS_PAGE,
    { schema: { hide: true }, config: { answerWhenOverloaded: true } },
    async (_request, reply) => reply.type('text/html; charset=utf-8').send(page),
  );
}

function renderErrorsPage(): string {
  const rows = (Object.keys(ERRORS) as ErrorCode[])
    .map((code) => {
      const { status, title } = ERRORS[code];
      return `<tr id="${errorAnchor(code)}"><td><a href="#${errorAnchor(code)}"><code>${code}</code></a></td><td>${status}</td><td>${title.replace(/[<>&]/g, (c) => `&#${c.charCodeAt(0)};`)}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Error catalogue · LaundryConnect Notify</title>
<style>body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#1f2937}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:.4rem;text-align:left}
tr:target{background:#fef9c3}</style></head>
<body><h1>Error catalogue</h1>
<p>Every error response is <code>application/problem+json</code> (RFC 9457) with a stable <code>code</code>; its
<code>type</code> links to the row below. A 503 carries <code>Retry-After</code> and is safe to repeat as it is.
Details: <code>docs/errors.md</code> in the repository.</p>
<table><thead><tr><th>code</th><th>HTTP</th><th>title</th></tr></thead>
<tbody>
${rows}
</tbody></table></body></html>
`;
}
