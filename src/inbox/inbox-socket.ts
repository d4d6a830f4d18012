import fastifyWebsocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { looksLikeJwt, type UserTokens } from '../auth/user-tokens.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { text } from '../text.ts';
import type { InboxClient, InboxHub, ServerMessage } from './inbox-hub.ts';

/** Close codes in the application range (4000–4999), mirroring the HTTP statuses they stand for. */
export const CLOSE_CODES = {
  badMessage: 4400,
  unauthorized: 4401,
  userNotFound: 4404,
  authTimeout: 4408,
} as const;

/** A browser cannot set headers on a WebSocket, so it has this long to send its token as a message. */
const AUTH_TIMEOUT_MS = 10_000;

/**
 * On shutdown a client has this long to answer "going away" before its socket is cut: the HTTP
 * server's close waits for every upgraded socket, and `ws` would otherwise wait 30 s for each.
 */
const SHUTDOWN_CLOSE_MS = 1_000;

export interface InboxSocketOptions {
  hub: InboxHub;
  tokens: UserTokens;
  heartbeatMs: number;
  logger: Logger;
}

interface Identity {
  userId: string;
  expiresAt: number | undefined;
}

/** The replay cursor, in the query string or in the first message: a notification_id. */
const sinceCursor = text().min(1).max(64).describe('Replay what arrived after this notification_id');
const sinceQuery = z.object({ since: sinceCursor.optional() });

/** Verify a user token (never logged) and note when it expires, so the socket can end with it. */
async function identify(tokens: UserTokens, token: string): Promise<Identity> {
  if (!looksLikeJwt(token)) throw new AppError('UNAUTHORIZED', 'The live inbox needs a user token');
  const userId = await tokens.verify(token);
  const exp = decodeJwt(token).exp;
  return { userId, expiresAt: exp === undefined ? undefined : exp * 1000 };
}

/**
 * `GET /ws`: the live inbox (protocol in docs/inbox.md). A token in the Authorization header is
 * checked before the upgrade (a bad one is a plain 401); without the header the first message must
 * be `{"type":"auth","token":"…"}`, and a bad one closes the socket with 4401 and the reason.
 */
export function registerInboxSocket(app: FastifyInstance, o: InboxSocketOptions): void {
  const headerIdentity = new WeakMap<FastifyRequest, Identity>();
  void app.register(async (scope) => {
    await scope.register(fastifyWebsocket, {
      options: { maxPayload: 16 * 1024 },
      // Replaces the default, which closes with no code and waits for every client to answer.
      preClose: async () => {
        const wss = scope.websocketServer;
        await Promise.all([...wss.clients].map(goAway));
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      },
    });
    scope.get(
      '/ws',
      {
        websocket: true,
        schema: { querystring: sinceQuery },
        preValidation: async (request) => {
          const header = request.headers.authorization;
          if (header === undefined) return;
          const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
          headerIdentity.set(request, await identify(o.tokens, token));
        },
      },
      (socket, request) => {
        const { since } = request.query as z.infer<typeof sinceQuery>;
        serveSocket(socket, o, headerIdentity.get(request), since);
      },
    );
  });
}

function serveSocket(ws: WebSocket, o: InboxSocketOptions, identity: Identity | undefined, since?: string) {
  let client: InboxClient | undefined;
  let authenticating = false;
  let unanswered = 0;
  const timers: NodeJS.Timeout[] = [];
  const send = (message: ServerMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const close = (code: number, reason: string) => {
    if (ws.readyState === ws.OPEN) ws.close(code, reason);
  };

  // Heartbeat: a ping every interval; a socket that answered none of the last two pings (no pong,
  // no message) is dead. A tick that itself ran late means our event loop stalled and pongs may
  // still be unread, so it only pings: a stall on our side must not drop healthy clients.
  ws.on('pong', () => {
    unanswered = 0;
  });
  let tickAt = Date.now();
  timers.push(
    setInterval(() => {
      const now = Date.now();
      const stalled = now - tickAt > 1.5 * o.heartbeatMs;
      tickAt = now;
      if (!stalled && unanswered >= 2) return ws.terminate();
      unanswered++;
      ws.ping();
    }, o.heartbeatMs),
  );

  const open = async (id: Identity, replayFrom: string | undefined, cursorError?: string) => {
    client = { userId: id.userId, lastNotificationId: undefined, send };
    o.hub.add(client);
    send({ type: 'ready', user_id: id.userId });
    if (cursorError) send({ type: 'error', code: 'VALIDATION_FAILED', message: cursorError });
    if (id.expiresAt !== undefined) {
      const ms = Math.max(0, id.expiresAt - Date.now());
      timers.push(setTimeout(() => close(CLOSE_CODES.unauthorized, 'The user token has expired'), ms));
    }
    try {
      await o.hub.sync(client, replayFrom);
    } catch (err) {
      if (err instanceof AppError && err.code === 'USER_NOT_FOUND') {
        return close(CLOSE_CODES.userNotFound, err.message);
      }
      o.logger.warn({ err }, 'inbox socket sync failed');
      close(1011, 'Internal error; reconnect with since');
    }
  };

  ws.on('message', (data: RawData) => {
    unanswered = 0;
    const message = parseMessage(data);
    if (message?.type === 'ping') return send({ type: 'pong' });
    if (client) {
      const what = message ? `Unknown message type "${String(message.type)}"` : 'Messages must be JSON';
      return send({ type: 'error', code: 'VALIDATION_FAILED', message: what });
    }
    if (authenticating) return;
    if (message?.type !== 'auth' || typeof message.token !== 'string') {
      return close(CLOSE_CODES.unauthorized, 'Authenticate first: {"type":"auth","token":"<user token>"}');
    }
    authenticating = true;
    // A bad cursor in the message is reported once the socket is ready and replays nothing, as an
    // unknown one does.
    const cursor = message.since === undefined ? undefined : sinceCursor.safeParse(message.since);
    const replayFrom = cursor ? cursor.data : since;
    const cursorError = cursor?.error ? `since: ${cursor.error.issues[0]!.message}` : undefined;
    identify(o.tokens, message.token).then(
      (id) => open(id, replayFrom, cursorError),
      (err: Error) =>
        close(CLOSE_CODES.unauthorized, err instanceof AppError ? err.message : 'Not authenticated'),
    );
  });
  ws.on('error', (err) => o.logger.debug({ err }, 'inbox socket error'));
  ws.on('close', () => {
    for (const t of timers) clearTimeout(t);
    if (client) o.hub.remove(client);
  });

  if (identity) void open(identity, since);
  else {
    timers.push(
      setTimeout(() => {
        if (!client) close(CLOSE_CODES.authTimeout, 'No auth message received in time');
      }, AUTH_TIMEOUT_MS),
    );
  }
}

/** Close with 1001 so the client knows to reconnect (to another node); cut it if it does not answer. */
function goAway(ws: WebSocket): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const cut = setTimeout(() => ws.terminate(), SHUTDOWN_CLOSE_MS);
    ws.once('close', () => {
      clearTimeout(cut);
      resolve();
    });
    ws.close(1001, 'The server is shutting down; reconnect');
  });
}

function parseMessage(data: RawData): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(data.toString());
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
