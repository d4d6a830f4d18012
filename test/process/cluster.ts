/**
 * A cluster of the service's processes for test/process/cluster.test.ts: `api` and `worker` nodes on
 * one PostgreSQL database, the SMS going to one standalone sandbox process, and a front proxy
 * standing in for the load balancer the sandbox's status callbacks reach (PUBLIC_URL): a node's
 * restart must not lose a callback just because the node was the one PUBLIC_URL named.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { type CliProcess, listeningUrl, runCli } from './cli.ts';

export const SID = 'AC0c1a5e7c1a5e7c1a5e7c1a5e7c1a5e70';
export const TOKEN = 'c1u5terc1u5terc1u5terc1u5ter0123';
export const ADMIN_KEY = 'lcn_adm_cluster_test_key_0123456789abcdef';

export const orderOf = (tag: string, i: number) => `${tag}${i}`;
export const phoneOf = (i: number) => `+9198770${String(i).padStart(5, '0')}`;

/** A node of the cluster: its command, its current process and (an api) its current URL. */
export interface ClusterNode {
  name: string;
  command: 'api' | 'worker';
  env: Record<string, string>;
  proc: CliProcess;
  url: string;
  /** While false the load sends it nothing new (it is being restarted). */
  up: boolean;
}

/** Start (or start again) a node and wait for its start-up line. */
export async function startNode(node: Omit<ClusterNode, 'proc' | 'url' | 'up'> & Partial<ClusterNode>) {
  const proc = runCli([node.command], node.env);
  const n = node as ClusterNode;
  n.proc = proc;
  if (node.command === 'api') {
    // PORT=0: each start listens on a new port, so a restart never races the old one's release.
    n.url = await listeningUrl(proc, 90_000);
  } else {
    await proc.waitForOutput(/Delivery worker \S+ running/, 90_000);
    n.url = '';
  }
  n.up = true;
  return n;
}

/** SIGTERM, wait for the exit (it drains), and return the exit code. */
export async function stopNode(node: ClusterNode): Promise<number | string> {
  node.up = false;
  node.proc.child.kill('SIGTERM');
  return node.proc.exited(90_000);
}

/**
 * The front proxy: each request buffered, then forwarded to an api node that is up (round-robin),
 * the next one tried on a connection error. Status callbacks are idempotent, so a retry after a
 * reset is harmless; notifications are not sent through it (the test's client does its own retries).
 */
export async function startFrontProxy(nodes: () => ClusterNode[]) {
  let next = 0;
  let forwarded = 0;
  let failed = 0;
  const forward = (target: string, req: http.IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const out = http.request(
        `${target}${req.url}`,
        {
          method: req.method,
          headers: { ...req.headers, connection: 'close' },
          agent: false,
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      out.on('timeout', () => out.destroy(new Error('proxy timeout')));
      out.on('error', reject);
      out.end(body);
    });
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    for (let attempt = 0; attempt < 40; attempt++) {
      const live = nodes().filter((n) => n.up && n.url);
      const target = live[next++ % Math.max(1, live.length)];
      if (target) {
        try {
          const r = await forward(target.url, req, body);
          // A node that is closing answers 503 to what it can no longer take: another node can.
          if (r.status !== 503) {
            forwarded++;
            const { connection: _c, 'transfer-encoding': _t, ...headers } = r.headers;
            res.writeHead(r.status, headers).end(r.body);
            return;
          }
        } catch {
          // Refused or reset: the node is stopping; try the next.
        }
      }
      await delay(100);
    }
    failed++;
    res.writeHead(502).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    stats: () => ({ forwarded, failed }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SubmitStats {
  created: number;
  replayed: number;
  /** Answers other than 200/201, and network errors, each followed by a retry on another node. */
  refusals: Record<string, number>;
  /** Notifications whose first node refused them and another accepted them with the same key. */
  retriedElsewhere: number;
}

export const newStats = (): SubmitStats => ({ created: 0, replayed: 0, refusals: {}, retriedElsewhere: 0 });

/**
 * POST one notification with its Idempotency-Key to `first`, and on a refusal or a network error
 * to the other api nodes in turn (the same key), until one accepts it; resolves with the
 * notification id. A 4xx other than 429 is a test failure at once.
 */
export async function submitOne(
  apis: () => ClusterNode[],
  first: ClusterNode,
  key: string,
  body: object,
  stats: SubmitStats,
  deadline = Date.now() + 120_000,
): Promise<string> {
  let target: ClusterNode | undefined = first;
  let tries = 0;
  for (;;) {
    if (target) {
      tries++;
      let label: string;
      try {
        const res = await fetch(`${target.url}/api/v1/notifications`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${ADMIN_KEY}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        if (res.status === 200 || res.status === 201) {
          if (res.status === 201) stats.created++;
          else stats.replayed++;
          if (tries > 1) stats.retriedElsewhere++;
          return (JSON.parse(text) as { notification_id: string }).notification_id;
        }
        if (res.status < 500 && res.status !== 429) throw new Error(`${key}: ${res.status} ${text}`);
        label = String(res.status);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith(`${key}:`)) throw err;
        label = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      }
      stats.refusals[label] = (stats.refusals[label] ?? 0) + 1;
    }
    if (Date.now() > deadline) throw new Error(`${key}: not accepted by any api node (${tries} tries)`);
    // Another node than the one that refused, preferring one that is up.
    const others = apis().filter((n) => n !== target && n.url);
    target = others.find((n) => n.up) ?? others[0] ?? target;
    await delay(tries > 2 ? 100 : 0);
  }
}

/** The sandbox's messages, counted per order number of `tag` (e.g. `P1-17` → 1). */
export async function arrivalsByOrder(sandboxUrl: string, tag: string): Promise<Map<string, number>> {
  const res = await fetch(`${sandboxUrl}/sandbox/messages?limit=1000000`);
  const { messages } = (await res.json()) as { messages: { body: string; sid: string }[] };
  const counts = new Map<string, number>();
  const pattern = new RegExp(`Order #(${tag}\\d+) confirmed`);
  for (const m of messages) {
    const order = pattern.exec(m.body)?.[1];
    if (order) counts.set(order, (counts.get(order) ?? 0) + 1);
  }
  return counts;
}
