import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { bareHttpServer } from '../helpers/http-server.ts';

test('a keep-alive connection busy when close() begins is closed with its reply, not held for the keep-alive timeout', async () => {
  const app = await bareHttpServer();
  let arrived!: () => void;
  const inFlight = new Promise<void>((r) => {
    arrived = r;
  });
  let finish!: () => void;
  const released = new Promise<void>((r) => {
    finish = r;
  });
  app.get('/slow', async () => {
    arrived();
    await released;
    return { ok: true };
  });
  // Released once closing has begun (preClose hooks run in the order added: the server's own first).
  app.addHook('preClose', async () => finish());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const agent = new http.Agent({ keepAlive: true });
  try {
    const reply = new Promise<{ connection: string | undefined; socketClosed: Promise<void> }>(
      (resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/slow', agent }, (res) => {
            res.resume();
            const socketClosed = new Promise<void>((r) => res.socket.once('close', () => r()));
            res.once('end', () => resolve({ connection: res.headers.connection, socketClosed }));
          })
          .once('error', reject);
      },
    );
    await inFlight;
    const closed = app.close();
    const { connection, socketClosed } = await reply;
    assert.equal(connection, 'close', 'the reply sent while closing ends its connection');
    // The events that mean it: the server ended the connection, and close() finished.
    await socketClosed;
    await closed;
  } finally {
    agent.destroy();
    finish();
    await app.close();
  }
});
