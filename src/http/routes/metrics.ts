import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.ts';
import type { ServiceMetrics } from '../../telemetry/metrics.ts';
import { metricsTokenMatches } from '../../telemetry/metrics-http.ts';

/**
 * GET /metrics on the API port, registered only when METRICS_TOKEN is set: without a token the
 * route does not exist (404), so the figures are never public by default (docs/metrics.md).
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: ServiceMetrics, token: string): void {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text format); Bearer METRICS_TOKEN, not an API key',
        security: [{ metricsToken: [] }],
      },
      // A scrape must see the service while it sheds load: that is when its figures matter.
      config: { answerWhenOverloaded: true, rateLimit: false },
      onRequest: async (request, reply) => {
        if (!metricsTokenMatches(request.headers.authorization, token)) {
          void reply.header('www-authenticate', 'Bearer');
          throw new AppError('METRICS_UNAUTHORIZED');
        }
      },
    },
    async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  );
}
