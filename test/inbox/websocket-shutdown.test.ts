import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunningApp } from '../../src/app.ts';
import { startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';
import { userWithToken } from './helpers.ts';
import { connectWithHeader, type SocketOwner } from './ws-client.ts';

/** An app of the test's own (it is closed by the test), closed in `t.after` if the test fails first. */
async function ownApp(ctx: SocketOwner): Promise<{ app: RunningApp; close: () => Promise<void> }> {
  const t = await createTestDatabase();
  let app: RunningApp;
  try {
    app = await startSmsApp(t);
  } catch (err) {
    await t.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= app.close();
    return closing;
  };
  ctx.after(async () => {
    try {
      await close();
    } finally {
      await t.close();
    }
  });
  return { app, close };
}

test(`closing the app tells a connected inbox client 1001 "going away" (${ENGINE})`, async (ctx) => {
  const { app, close } = await ownApp(ctx);
  const token = await userWithToken(app.url!, 'ws-shutdown');
  const socket = await connectWithHeader(ctx, app.url!, token);
  await close();
  assert.deepEqual(await socket.closed, { code: 1001, reason: 'The server is shutting down; reconnect' });
});

test(`a client that never answers the close is cut off, so the app's close still finishes (${ENGINE})`, async (ctx) => {
  const { app, close } = await ownApp(ctx);
  const token = await userWithToken(app.url!, 'ws-shutdown-stuck');
  const socket = await connectWithHeader(ctx, app.url!, token);
  // The client stops reading, like a frozen tab: it never answers the close frame.
  socket.ws.pause();
  await close();
  socket.ws.resume();
  assert.equal((await socket.closed).code, 1001, 'the close frame was sent before the socket was cut');
});
