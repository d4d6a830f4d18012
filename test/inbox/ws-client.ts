import WebSocket from 'ws';

export interface InboxMessage {
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: server messages are JSON the assertions inspect
  [key: string]: any;
}

/** `at`: performance.now() on arrival; `wallAt`: Date.now(), to compare with database timestamps. */
export type Received = InboxMessage & { at: number; wallAt: number };

/** A real `ws` client on the live inbox that keeps every message and lets a test wait for one. */
export interface InboxSocket {
  ws: WebSocket;
  messages: InboxMessage[];
  /**
   * The next message (after those already taken) matching `pred`, with the time it arrived; rejects
   * as soon as the socket closes without one, so a test fails fast instead of waiting out the bound.
   */
  next(pred: (m: InboxMessage) => boolean, timeoutMs?: number): Promise<Received>;
  closed: Promise<{ code: number; reason: string }>;
}

/** What owns a socket: a test context (or a suite hook) that runs clean-ups when it ends. */
export interface SocketOwner {
  after(fn: () => Promise<void>): void;
}

export function wsUrl(httpUrl: string, query = ''): string {
  return `${httpUrl.replace(/^http/, 'ws')}/ws${query}`;
}

/**
 * Open a socket that `owner` closes when it ends, passed or failed: a socket left open by a failed
 * assertion would keep the app's close (and the test process) waiting.
 */
export function openInboxSocket(
  owner: SocketOwner,
  url: string,
  opts: { headers?: Record<string, string>; autoPong?: boolean } = {},
): InboxSocket {
  const ws = new WebSocket(url, { headers: opts.headers, autoPong: opts.autoPong ?? true });
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  let taken = 0;
  let closedCode: number | undefined;
  ws.on('message', (data) => {
    messages.push({ ...JSON.parse(data.toString()), at: performance.now(), wallAt: Date.now() });
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      closedCode = code;
      resolve({ code, reason: reason.toString() });
      for (const w of waiters) w();
    });
    ws.on('error', () => {});
  });
  let opened = false;
  ws.on('open', () => {
    opened = true;
  });
  owner.after(async () => {
    // terminate() also aborts a handshake still pending (e.g. after 'unexpected-response').
    ws.terminate();
    if (opened) await closed;
  });
  return {
    ws,
    messages,
    closed,
    next(pred, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (let i = taken; i < messages.length; i++) {
            if (pred(messages[i]!)) {
              taken = i + 1;
              cleanup();
              resolve(messages[i]!);
              return;
            }
          }
          if (closedCode !== undefined) fail(`the socket closed (${closedCode}) before a matching message`);
        };
        const fail = (why: string) => {
          cleanup();
          reject(new Error(`${why}; got ${JSON.stringify(messages)}`));
        };
        const timer = setTimeout(() => fail(`no matching message in ${timeoutMs} ms`), timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export const ofType = (type: string) => (m: InboxMessage) => m.type === type;

/** Open with the token in the Authorization header and wait until the server has synced. */
export async function connectWithHeader(
  owner: SocketOwner,
  httpUrl: string,
  token: string,
  query = '',
): Promise<InboxSocket> {
  const socket = openInboxSocket(owner, wsUrl(httpUrl, query), {
    headers: { authorization: `Bearer ${token}` },
  });
  await socket.next(ofType('sync'));
  return socket;
}
