/** Shared fixtures for the sandbox tests: a real webhook receiver, a real SDK client, polling. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Twilio } from 'twilio';
import { createTwilioClient } from '../../src/channels/sms/twilio-http-client.ts';
import type { TwilioSandbox } from '../../src/sandbox/server.ts';

export interface ReceivedWebhook {
  /** The full URL as the sender called it, which is what Twilio signs. */
  url: string;
  signature: string;
  params: Record<string, string>;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

/** A local HTTP server that records form posts and answers with `reply` (status 200 by default). */
export async function startWebhookReceiver(
  reply: { status?: number; body?: string; contentType?: string } = {},
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({
        url: `http://127.0.0.1:${port}${req.url}`,
        signature: String(req.headers['x-twilio-signature'] ?? ''),
        params: Object.fromEntries(new URLSearchParams(body)),
      });
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'text/plain' });
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export function sdkClient(
  sandbox: TwilioSandbox,
  overrides: { authToken?: string; timeoutMs?: number } = {},
): Twilio {
  return createTwilioClient({
    accountSid: sandbox.accountSid,
    authToken: overrides.authToken ?? sandbox.authToken,
    baseUrl: sandbox.url,
    timeoutMs: overrides.timeoutMs ?? 5_000,
  });
}

/** Polls `check` until it returns true, failing with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const TO = '+15551230001';
export const FROM = '+15557650000';
