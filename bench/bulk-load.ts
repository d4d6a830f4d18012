/**
 * The bulk phase's load (run inside the load generator process): `concurrency` clients, each
 * POSTing a batch to /api/v1/notifications/batch as soon as its previous one is answered, for the
 * phase's seconds. Every item has its own idempotency key and the next seeded user; every answer's
 * per-item results are counted, so an item that was not created is reported, never lost in a 200.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { type BatchAnswered, percentiles } from './analyse.ts';
import type { LoadSummary } from './load-generator.ts';

export interface BulkPlan {
  kind: 'bulk';
  url: string;
  apiKey: string;
  users: number;
  type: string;
  context: Record<string, unknown>;
  seconds: number;
  batchSize: number;
  concurrency: number;
}

/** The load generator's summary (a request is a batch) plus the per-item outcomes. */
export interface BulkSummary extends LoadSummary {
  batchSize: number;
  items: {
    sent: number;
    created: number;
    /**
     * Items by outcome: the item's own status in a 200 answer ("201", "200" a replay, "404"…), or
     * `batch <status> <code>` for every item of a batch refused whole (`batch 503 SERVICE_OVERLOADED`),
     * `error` for a batch without an answer.
     */
    statuses: Record<string, number>;
  };
  batches: BatchAnswered[];
}

interface BatchAnswer {
  results: { status: number }[];
}

function post(
  target: URL,
  agent: http.Agent,
  headers: http.OutgoingHttpHeaders,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(target, { method: 'POST', agent, headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** `progress` gets the items created so far and the batches refused, four times a second. */
/** ` CODE` of a problem+json answer (SERVICE_OVERLOADED, VALIDATION_FAILED…), or '' for another body. */
function problemCode(text: string): string {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' ? ` ${code}` : '';
  } catch {
    return '';
  }
}

export async function bulkLoad(
  plan: BulkPlan,
  progress: (created: number, non2xx: number) => void,
): Promise<BulkSummary> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: plan.concurrency });
  const target = new URL('/api/v1/notifications/batch', plan.url);
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${plan.apiKey}` };
  // Keys unique to this run, so no item is a replay of an earlier run's or phase's.
  const run = randomBytes(6).toString('hex');
  const context = JSON.stringify(plan.context);
  let user = 0;
  let seq = 0;
  const batchBody = () => {
    const items: string[] = [];
    for (let i = 0; i < plan.batchSize; i++) {
      user = (user % plan.users) + 1;
      items.push(
        `{"user_id":"bench-user-${user}","type":"${plan.type}","context":${context},"idempotency_key":"bench-bulk-${run}-${++seq}"}`,
      );
    }
    return `{"notifications":[${items.join(',')}]}`;
  };

  const batches: BatchAnswered[] = [];
  const latencies: number[] = [];
  const codes: Record<string, number> = {};
  const statuses: Record<string, number> = {};
  const count = (status: string, n: number) => {
    statuses[status] = (statuses[status] ?? 0) + n;
  };
  let created = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let stopped = false;
  process.once('SIGTERM', () => {
    stopped = true;
  });
  const timer = setInterval(() => progress(created, non2xx), 250);

  const client = async () => {
    while (!stopped && Date.now() < end) {
      const body = batchBody();
      const sent = performance.now();
      let answer: { status: number; text: string };
      try {
        answer = await post(target, agent, headers, body);
      } catch {
        errors++;
        count('error', plan.batchSize);
        continue;
      }
      const ms = performance.now() - sent;
      latencies.push(ms);
      codes[answer.status] = (codes[answer.status] ?? 0) + 1;
      let createdHere = 0;
      if (answer.status === 200) {
        ok++;
        for (const r of (JSON.parse(answer.text) as BatchAnswer).results) {
          count(String(r.status), 1);
          if (r.status === 201) createdHere++;
        }
      } else {
        non2xx++;
        count(`batch ${answer.status}${problemCode(answer.text)}`, plan.batchSize);
      }
      created += createdHere;
      batches.push({ at: Date.now(), ms, status: answer.status, created: createdHere });
    }
  };

  const startedAt = Date.now();
  const end = startedAt + plan.seconds * 1000;
  await Promise.all(Array.from({ length: plan.concurrency }, client));
  clearInterval(timer);
  agent.destroy();
  const latency = percentiles(latencies);
  return {
    startedAt,
    endedAt: Date.now(),
    requests: latencies.length + errors,
    ok,
    non2xx,
    errors,
    timeouts: 0,
    statusCodes: codes,
    requestLatencyMs: { p50: latency.p50, p99: latency.p99, max: latency.max },
    batchSize: plan.batchSize,
    items: { sent: seq, created, statuses },
    batches,
  };
}
