/** The client: notifications submitted idempotently, each refusal or network error retried. */
import http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { ADMIN_KEY } from './settings.ts';
import { orderOf } from './store.ts';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface Reply {
  status: number;
  retryAfter: string | null;
  body: string;
}

/** One POST over a keep-alive agent; rejects on a network error (refused, reset). */
export function post(base: string, path: string, body: object, headers: Record<string, string> = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      `${base}${path}`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(data),
          authorization: `Bearer ${ADMIN_KEY}`,
          ...headers,
        },
        timeout: 60_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: (res.headers['retry-after'] as string) ?? null,
            body: text,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(data);
  });
}

export const notificationBody = (i: number) => ({
  user_id: `rel-${i}`,
  type: 'order_confirmed',
  context: { order: { order_number: orderOf(i), pickup_date: 'Sat 9-11' } },
});

export interface SubmitStats {
  accepted: number;
  /** Answers other than 2xx seen on the way (each retried): status → count. */
  refusals: Record<string, number>;
  networkErrors: number;
}

export interface SubmitOptions {
  /** Requests in flight at once (default 32). */
  concurrency?: number;
  /** The first notification's number (default 0): a second run continues where a first stopped. */
  first?: number;
  /** Stops the submission (it then rejects with the signal's reason): the scenario failed elsewhere. */
  signal?: AbortSignal;
  /**
   * How long the submission may go without any notification accepted before it fails (default
   * 5 min): the service is gone. Measured across all lanes, not per notification: while a
   * scenario keeps killing the service, one notification can be unlucky for minutes while others
   * get in, and that is the scenario working. Without a bound a service that never comes back
   * kept the retries (and the test file) running until CI's own limit.
   */
  stallMs?: number;
}

/**
 * Submit notifications first..count-1 at about `perSecond`, each with an Idempotency-Key, retrying any
 * refusal or network error (a killed or restarting service) until it is accepted. A stall (no
 * notification accepted for `stallMs`) or a refusal no retry can change stops every lane.
 */
export async function submitAll(
  baseUrl: () => string,
  count: number,
  perSecond: number,
  { concurrency = 32, first = 0, signal, stallMs = 300_000 }: SubmitOptions = {},
): Promise<SubmitStats> {
  const stats: SubmitStats = { accepted: 0, refusals: {}, networkErrors: 0 };
  const failed = new AbortController();
  const stop = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  let next = first;
  const started = Date.now();
  let acceptedAt = started;
  async function one(i: number) {
    // What each failed attempt was, so a notification that is never accepted says why.
    const failures: Record<string, number> = {};
    let last = '';
    for (let attempt = 0; ; attempt++) {
      stop.throwIfAborted();
      if (Date.now() - acceptedAt > stallMs) {
        throw new Error(
          `no notification accepted for ${stallMs} ms; notification ${i}: ${attempt} attempts ${JSON.stringify(failures)}, last: ${last}`,
        );
      }
      let wait: number;
      try {
        const r = await post(baseUrl(), '/api/v1/notifications', notificationBody(i), {
          'idempotency-key': `rel-${i}`,
        });
        if (r.status === 200 || r.status === 201) {
          stats.accepted++;
          acceptedAt = Date.now();
          return;
        }
        stats.refusals[r.status] = (stats.refusals[r.status] ?? 0) + 1;
        if (r.status < 500 && r.status !== 429)
          throw new RefusedForGood(`notification ${i}: ${r.status} ${r.body}`);
        last = `${r.status} ${r.body.slice(0, 200)}`;
        failures[r.status] = (failures[r.status] ?? 0) + 1;
        wait = r.retryAfter ? Math.min(Number(r.retryAfter) * 1000, 2000) : 200;
      } catch (err) {
        if (err instanceof RefusedForGood) throw err;
        stats.networkErrors++;
        last = (err as Error).message;
        const kind = (err as NodeJS.ErrnoException).code ?? last;
        failures[kind] = (failures[kind] ?? 0) + 1;
        wait = Math.min(200 * (attempt + 1), 1000);
      }
      await delay(wait, undefined, { signal: stop });
    }
  }
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      try {
        for (;;) {
          const i = next++;
          if (i >= count) return;
          const due = started + ((i - first) / perSecond) * 1000;
          const early = due - Date.now();
          if (early > 0) await delay(early, undefined, { signal: stop });
          await one(i);
        }
      } catch (err) {
        failed.abort(err);
        throw err;
      }
    }),
  );
  return stats;
}

/**
 * submitAll in the background while the scenario injects its faults. `stop()` (call it in `finally`)
 * ends the submission when the scenario failed first, so nothing keeps retrying against a service
 * the test has killed; awaiting `done` still reports the submission's own failure, and a failure
 * nobody awaited is never an unhandled rejection.
 */
export function backgroundLoad(
  baseUrl: () => string,
  count: number,
  perSecond: number,
  options: Omit<SubmitOptions, 'signal'> = {},
): { done: Promise<SubmitStats>; submitting(): boolean; stop(): void } {
  const controller = new AbortController();
  let submitting = true;
  const done = submitAll(baseUrl, count, perSecond, { ...options, signal: controller.signal }).finally(() => {
    submitting = false;
  });
  done.catch(() => {});
  return { done, submitting: () => submitting, stop: () => controller.abort(new Error('scenario ended')) };
}

/** A 4xx the service will answer every time: retrying cannot help. */
class RefusedForGood extends Error {}
