import { createHttpServer } from '../../src/http/server.ts';
import { silentLogger } from './test-db.ts';

/** The bare Fastify instance every route shares (no routes, no database), with test limits: load shedding off. */
export function bareHttpServer() {
  return createHttpServer({
    logger: silentLogger,
    bodyLimit: 1024,
    rateLimitPerMinute: 1000,
    trustProxy: false,
    overload: {
      maxEventLoopDelayMs: 0,
      maxHeapUsedBytes: 0,
      maxRssBytes: 0,
      retryAfterSeconds: 1,
      maxInFlight: 0,
    },
    version: 'test',
  });
}
