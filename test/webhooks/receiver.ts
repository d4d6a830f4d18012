import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver does with a request: answer it now, or hold it (the test answers later). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hold';

/**
 * A real webhook receiver on 127.0.0.1 (node:http): it records every request's headers and raw
 * body, and answers as the test scripts. Tests wait on `nth(n)` (a request arriving), never on time.
 */
export class Receiver {
  readonly received: Received[] = [];
  readonly held: ServerResponse[] = [];
  answer: (r: Received, n: number) => Answer = () => ({ status: 204 });
  readonly #server: Server;
  #waiters: Array<{ n: number; resolve: () => void }> = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<Receiver> {
    const server = createServer();
    const receiver = new Receiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        receiver.received.push(r);
        const a = receiver.answer(r, receiver.received.length);
        if (a === 'hold') receiver.held.push(res);
        else res.writeHead(a.status, a.headers).end(a.body);
        receiver.#waiters = receiver.#waiters.filter((w) => {
          if (receiver.received.length < w.n) return true;
          w.resolve();
          return false;
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Resolves once `n` requests have arrived. */
  nth(n: number): Promise<Received> {
    if (this.received.length >= n) return Promise.resolve(this.received[n - 1]!);
    return new Promise((resolve) => this.#waiters.push({ n, resolve: () => resolve(this.received[n - 1]!) }));
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
