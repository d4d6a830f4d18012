import type { FastifyInstance } from 'fastify';

/**
 * The policy of every server-rendered page (the operator console, the end-user pages): scripts and
 * styles only from this origin and never inline, no other origin, no framing. A page's script may
 * style elements through the DOM (allowed), never with inline markup.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * Adds the page headers to every reply of `scope` (an encapsulated plugin of pages): the CSP, no
 * framing or sniffing, no referrer (a page's URL never leaks to a site it links to), and HTML never
 * cached (a page shows one person's data).
 */
export function addPageHeaders(scope: FastifyInstance): void {
  scope.addHook('onSend', async (_request, reply) => {
    void reply.header('content-security-policy', PAGE_CSP);
    void reply.header('x-frame-options', 'DENY');
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html'))
      void reply.header('cache-control', 'no-store');
  });
}
