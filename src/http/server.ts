import fastifyFormbody from '@fastify/formbody';
import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyUnderPressure from '@fastify/under-pressure';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { AppError } from '../errors.ts';
import { limitRequestsInFlight, type RequestAdmission } from './admission.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served even while the service sheds load (liveness). */
    answerWhenOverloaded?: boolean;
    /** The embedded engine's in-flight bound this route counts against (admission.ts); 'api' if unset. */
    admissionPool?: import('./admission.ts').AdmissionPool;
    /** Held open for minutes (server-sent events): not a database wait, so not counted in flight. */
    longLived?: boolean;
  }
  interface FastifyInstance {
    /** Set when requests in flight are bounded (the embedded engine, admission.ts). */
    admission?: RequestAdmission;
    /** Every route as registered (method, url): what the role tests walk, so no route is missed. */
    readonly routeTable: ReadonlyArray<{ method: string; url: string }>;
  }
}

export interface HttpOptions {
  logger: import('../logger.ts').Logger;
  bodyLimit: number;
  rateLimitPerMinute: number;
  /** TRUST_PROXY: who may set X-Forwarded-For, so `request.ip` is the client behind a proxy. */
  trustProxy: boolean | number | string[];
  /** OVERLOAD_* settings; a 0 limit is off. */
  overload: {
    maxEventLoopDelayMs: number;
    maxHeapUsedBytes: number;
    maxRssBytes: number;
    retryAfterSeconds: number;
    /** Requests in flight past which one is refused (admission.ts); 0 is off. */
    maxInFlight: number;
  };
  version: string;
}

/**
 * The Fastify instance with what every route shares: load shedding, zod validation, problem+json
 * errors, a body limit, per-key rate limits and the OpenAPI document built from the route schemas.
 * Routes are registered by the composition root (app.ts).
 */
export async function createHttpServer(opts: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimit,
    trustProxy: trustedHops(opts.trustProxy),
    // Errors are logged by the error handler; a log line per request would cost more than it tells.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  // A keep-alive connection busy when close() began is not idle then, so forceCloseConnections
  // leaves it open, and Node keeps it for the whole keep-alive timeout (72 s) once its response is
  // sent: close() and a SIGTERM'd process waited that long. A reply sent while closing says
  // `Connection: close`, so Node ends the connection with it.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  const routeTable: Array<{ method: string; url: string }> = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url });
  });

  // Past a limit (event-loop delay, heap, RSS, sampled once a second) every request is refused at
  // once with 503 and Retry-After, before auth, parsing or the database, rather than queued for
  // minutes. Twilio webhooks are shed too: Twilio retries a 5xx only where the callback URL asks for
  // it (connection overrides, `#rc=…&rp=…`); a status callback lost here is fetched later by the
  // status sweep (SMS_STATUS_SWEEP_MS), and a STOP is enforced by Twilio itself (21610 on the next
  // send, which opts the user out here).
  const o = opts.overload;
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: o.maxEventLoopDelayMs,
    maxHeapUsedBytes: o.maxHeapUsedBytes,
    maxRssBytes: o.maxRssBytes,
    pressureHandler: async (request, reply, type) => {
      if (request.routeOptions.config.answerWhenOverloaded) return;
      void reply.header('retry-after', o.retryAfterSeconds);
      throw new AppError(
        'SERVICE_OVERLOADED',
        `The service is overloaded (${type}); retry in ${o.retryAfterSeconds} s`,
      );
    },
  });
  if (o.maxInFlight > 0) {
    app.decorate(
      'admission',
      limitRequestsInFlight(app as unknown as FastifyInstance, {
        max: o.maxInFlight,
        retryAfterSeconds: o.retryAfterSeconds,
      }),
    );
  }
  // Twilio webhooks are form-encoded.
  await app.register(fastifyFormbody, { bodyLimit: opts.bodyLimit });
  await app.register(fastifyRateLimit, {
    max: opts.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per verified API key (so one noisy caller cannot starve others), else per address: a key not
    // checked yet gets no bucket of its own, or each guessed key would start a fresh one. The
    // limiter's hook is appended to each route's own, so where the key is checked in onRequest the
    // caller is counted by key; elsewhere (user tokens, webhooks) by address.
    keyGenerator: (request) => (request.apiKey ? `key:${request.apiKey.id}` : normalizeIP(request.ip)),
  });
  // A wrong key never reaches the limiter above (the key check answers 401 first), so the check
  // counts the keys it looks up per address itself (auth.ts, checkApiKey).
  app.decorate(
    'apiKeyLookups',
    app.createRateLimit({
      max: opts.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => normalizeIP(request.ip),
    }),
  );
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'LaundryConnect Notify API',
        version: opts.version,
        description:
          'Notifications for the LaundryConnect marketplace: SMS, email, in-app inbox and Web Push.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'API key' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN (GET /metrics)' },
        },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app as unknown as FastifyInstance;
}

/** A hop count as the function proxy-addr makes of one (Fastify's types take no number). */
function trustedHops(
  trust: boolean | number | string[],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}
