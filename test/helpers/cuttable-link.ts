import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP hop between the service and PostgreSQL that the test can cut: every open connection is
 * dropped and new ones are refused, as during a database restart, until it is restored. It can also
 * stall: connections stay open (and new ones are accepted) but nothing is forwarded, as with a hung
 * server, until it resumes and forwards what it held. Or reset: every open connection gets a TCP RST
 * (ECONNRESET on both ends) while new ones are still accepted, as when a middlebox drops its state;
 * or refuse: every connection, open or new, is reset until it accepts again.
 */
export class CuttableLink {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #stalled = false;
  #refusing = false;
  readonly #held: Array<() => void> = [];
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      // A connection accepted just before a cut would keep server.close() waiting for ever.
      if (this.#server !== server) {
        client.destroy();
        return;
      }
      if (this.#refusing) {
        client.on('error', () => {});
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(this.#target);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      this.#forward(client, upstream);
      this.#forward(upstream, client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  #forward(from: Socket, to: Socket): void {
    from.on('data', (chunk) => {
      if (this.#stalled) this.#held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  }

  stall(): void {
    this.#stalled = true;
  }

  resume(): void {
    this.#stalled = false;
    for (const send of this.#held.splice(0)) send();
  }

  reset(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  /**
   * Reset every connection, open or new, until `accept`: as a database that is not up yet, while the
   * port stays ours (closing it would free a port another process could take as a source port).
   */
  refuse(): void {
    this.#refusing = true;
    this.reset();
  }

  accept(): void {
    this.#refusing = false;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}
