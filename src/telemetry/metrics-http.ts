/**
 * How GET /metrics is reached (docs/metrics.md): on the API port behind METRICS_TOKEN, and/or on a
 * listener of its own (METRICS_HOST:METRICS_PORT) that a firewall can keep off the public port and
 * that a `worker` process, with no API, serves too. Plus the HTTP timings the API records.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { AppError, problemBody } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ServiceMetrics } from './metrics.ts';

/** Time every answer by its route pattern (`/api/v1/notifications/:id`), never the raw URL. */
export function observeHttp(app: FastifyInstance, metrics: ServiceMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    // A path no route matched has no pattern: one label for all of them, so a scan of random URLs
    // cannot make a series each.
    const route = request.routeOptions.url;
    metrics.httpAnswered(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** `Authorization: Bearer <token>` against the configured token, in constant time. */
export function metricsTokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim() ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface MetricsListenerOptions {
  host: string;
  port: number;
  /** Asked here too when set. */
  token: string | undefined;
  metrics: ServiceMetrics;
  logger: Pick<Logger, 'warn'>;
}

export interface MetricsListener {
  /** http://host:port (the real port when METRICS_PORT=0). */
  url: string;
  close(): Promise<void>;
}

/** The separate listener: GET /metrics and nothing else. */
export async function startMetricsListener(o: MetricsListenerOptions): Promise<MetricsListener> {
  if (o.token === undefined && !isLoopback(o.host)) {
    o.logger.warn(
      { host: o.host, port: o.port },
      'metrics listener on a non-loopback address without METRICS_TOKEN: whoever reaches it reads the figures',
    );
  }
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    const fail = (err: AppError) => {
      response.writeHead(err.status, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify(problemBody(err, path)));
    };
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      fail(new AppError('NOT_FOUND', 'This listener serves GET /metrics only'));
      return;
    }
    if (o.token !== undefined && !metricsTokenMatches(request.headers.authorization, o.token)) {
      response.setHeader('www-authenticate', 'Bearer');
      fail(new AppError('METRICS_UNAUTHORIZED'));
      return;
    }
    o.metrics.render().then(
      ({ contentType, body }) => {
        response.writeHead(200, { 'content-type': contentType });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        o.logger.warn({ err }, 'metrics: the answer could not be rendered');
        fail(new AppError('INTERNAL'));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
