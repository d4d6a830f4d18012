import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../clock.ts';
import type { Db } from '../../db/database.ts';
import { clientClass, followLink } from '../../links/link-store.ts';
import { LINK_ID_PATTERN, LINK_PATH } from '../../links/tracked-link.ts';

export interface LinkRouteDeps {
  db: Db;
  clock: Clock;
}

const params = z.object({ id: z.string().max(100) });

/**
 * The short links of SMS texts (`{{ url | track }}`, docs/tracked-links.md): public (whoever got
 * the SMS follows it), rate-limited per address like every route. Each GET is a click, a HEAD is
 * none (link checkers), and the redirect goes only to the target stored with the id: no query or
 * path of the request reaches the Location, so the link cannot be turned into an open redirect.
 */
export function registerLinkRoutes(app: FastifyInstance, deps: LinkRouteDeps): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    `${LINK_PATH}:id`,
    {
      schema: {
        tags: ['links'],
        summary: 'Follow a tracked link: 302 to its target, counted as a click (HEAD is not)',
        security: [],
        params,
        response: {
          302: z.null().describe('Location: the stored target'),
          404: z.string().describe('An HTML page: no such link'),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const click =
        request.method === 'GET'
          ? { at: new Date(deps.clock.now()), client: clientClass(request.headers['user-agent']) }
          : undefined;
      const target = LINK_ID_PATTERN.test(id) ? await followLink(deps.db, id, click) : undefined;
      if (target === undefined) return notFound(reply);
      return (
        reply
          // Each click comes back here to be counted, never answered from a cache.
          .header('cache-control', 'no-store')
          .header('referrer-policy', 'no-referrer')
          .redirect(target, 302)
      );
    },
  );
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link not found · LaundryConnect</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1>This link does not work</h1>
<p>It may be mistyped, or so old that it was removed.</p>
</body></html>
`);
}
