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
  /** The next message (after those already taken) matching `pred`, with the time it arrived. */
  next(pred: (m: InboxMessage) => boolean, timeoutMs?: number): Promise<Received>;
  closed: Promise<{ code: number; reason: string }>;
}

export function wsUrl(httpUrl: string, query = ''): string {
  return `${httpUrl.replace(/^http/, 'ws')}/ws${query}`;
}

export function openInboxSocket(
  url: string,
  opts: { headers?: Record<string, string>; autoPong?: boolean } = {},
): InboxSocket {
  const ws = new WebSocket(url, { headers: opts.headers, autoPong: opts.autoPong ?? true });
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  let taken = 0;
  ws.on('message', (data) => {
    messages.push({ ...JSON.parse(data.toString()), at: performance.now(), wallAt: Date.now() });
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', () => {});
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
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching message in ${timeoutMs} ms; got ${JSON.stringify(messages)}`));
        }, timeoutMs);
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
export async function connectWithHeader(httpUrl: string, token: string, query = ''): Promise<InboxSocket> {
  const socket = openInboxSocket(wsUrl(httpUrl, query), { headers: { authorization: `Bearer ${token}` } });
  await socket.next(ofType('sync'));
  return socket;
}
