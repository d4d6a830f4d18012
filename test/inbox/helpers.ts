import type { RunningApp } from '../../src/app.ts';
import { getNotificationType } from '../../src/catalog/catalog.ts';
import { waitFor } from '../helpers/fixtures.ts';
import { ADMIN_KEY } from '../helpers/sms-app.ts';

/** A real HTTP call to the running app: status and parsed JSON body. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are JSON the assertions inspect
type Json = any;

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string | undefined; body?: unknown } = {},
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = {};
  if (opts.token) headers['authorization'] = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(baseUrl + path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Upsert the user with the admin key and get them a token of their own. */
export async function userWithToken(baseUrl: string, userId: string): Promise<string> {
  const put = await call(baseUrl, 'PUT', `/api/v1/users/${userId}`, {
    token: ADMIN_KEY,
    body: { email: `${userId}@example.com`, first_name: 'Priya' },
  });
  if (put.status >= 300) throw new Error(`user upsert failed: ${JSON.stringify(put.body)}`);
  const issued = await call(baseUrl, 'POST', `/api/v1/users/${userId}/token`, { token: ADMIN_KEY });
  return issued.body.token as string;
}

/** Create a notification the way the backend does (HTTP, API key); returns its public id. */
export async function notifyOverHttp(baseUrl: string, userId: string, type = 'order_confirmed') {
  const res = await call(baseUrl, 'POST', '/api/v1/notifications', {
    token: ADMIN_KEY,
    body: { user_id: userId, type, context: getNotificationType(type)!.sampleContext },
  });
  if (res.status !== 201) throw new Error(`create failed: ${JSON.stringify(res.body)}`);
  return res.body.notification_id as string;
}

/** Wait until the in-app delivery has put the notification in the user's inbox. */
export async function waitInInbox(app: RunningApp, token: string, notificationId: string) {
  return waitFor(
    async () => {
      const list = await call(app.url!, 'GET', '/api/v1/inbox?limit=100', { token });
      return list.body.notifications.find(
        (n: { notification_id: string }) => n.notification_id === notificationId,
      );
    },
    10_000,
    `${notificationId} in the inbox`,
  );
}
