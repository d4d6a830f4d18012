import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';

/**
 * Who a request is from, for the bound: the API's callers, or a provider reporting on what was sent
 * (Twilio's status callbacks and inbound replies, routes with `admissionPool: 'provider'`). Each has
 * a bound of its own, so a burst of API calls cannot shed the reports: Twilio does not retry a
 * refused callback, and the status sweep that would fetch it later costs a Twilio API call.
 */
export type AdmissionPool = 'api' | 'provider';

/** How many requests are being served now, per pool (read by tests and, if ever needed, by metrics). */
export interface RequestAdmission {
  readonly inFlight: Readonly<Record<AdmissionPool, number>>;
}

/**
 * A bound on the requests in flight, for the embedded engine. PGlite runs every query on its one
 * connection, in turn, so a burst queues behind the database while the event loop stays idle:
 * under-pressure never fires and every request waits its turn (64 connections for 10 s: p99 5.5 s,
 * nothing refused). PostgreSQL bounds the same wait with its pool (a free slot within
 * DATABASE_CONNECT_TIMEOUT_MS, else 503). Here a request past `max` is refused at once with 503
 * SERVICE_OVERLOADED and Retry-After, before authentication touches the database. Liveness,
 * WebSocket upgrades and event streams (long-lived, not a database wait) are not counted; each
 * pool has `max`.
 */
export function limitRequestsInFlight(
  app: FastifyInstance,
  o: { max: number; retryAfterSeconds: number },
): RequestAdmission {
  const inFlight: Record<AdmissionPool, number> = { api: 0, provider: 0 };
  app.addHook('onRequest', async (request, reply) => {
    const { config } = request.routeOptions;
    if (config.answerWhenOverloaded || config.longLived || request.headers.upgrade) return;
    const pool = config.admissionPool ?? 'api';
    if (inFlight[pool] >= o.max) {
      void reply.header('retry-after', o.retryAfterSeconds);
      throw new AppError(
        'SERVICE_OVERLOADED',
        `The service is overloaded (${o.max} requests in flight); retry in ${o.retryAfterSeconds} s`,
      );
    }
    inFlight[pool]++;
    // 'close' fires once whether the response finished or the client went away.
    reply.raw.once('close', () => inFlight[pool]--);
  });
  return { inFlight };
}
