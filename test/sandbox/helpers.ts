/** Shared fixtures for the sandbox tests: a real webhook receiver, real SDK clients, polling. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMS, SMSFailure, type SMSMessages, type SMSParams } from '@vonage/sms';
import type { Twilio } from 'twilio';
import { createTwilioClient } from '../../src/channels/sms/twilio-http-client.ts';
import { NO_PRIVATE_KEY } from '../../src/channels/sms/vonage/vonage-service.ts';
import type { TwilioSandbox } from '../../src/sandbox/server.ts';

export interface ReceivedWebhook {
  /** The full URL as the sender called it, which is what Twilio signs. */
  url: string;
  signature: string;
  /** The form's fields, or a JSON body's (Vonage posts JSON). */
  params: Record<string, string>;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

/** A local HTTP server that records form or JSON posts and answers with `reply` (status 200 by default). */
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
        params: String(req.headers['content-type']).startsWith('application/json')
          ? JSON.parse(body)
          : Object.fromEntries(new URLSearchParams(body)),
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

/** The official Vonage SMS client, pointed at the sandbox through the SDK's own `restHost`. */
export function vonageClient(sandbox: TwilioSandbox, overrides: { apiSecret?: string } = {}): SMS {
  const { apiKey, apiSecret } = sandbox.vonage;
  return new SMS(
    { apiKey, apiSecret: overrides.apiSecret ?? apiSecret, privateKey: NO_PRIVATE_KEY },
    { restHost: sandbox.url },
  );
}

/**
 * `send`'s answer whether Vonage took the parts or refused them: the SDK throws an `SMSFailure`
 * (`MessageSendPartialFailure` even when every part was refused) that carries the same answer.
 */
export async function vonageSend(sms: SMS, params: SMSParams): Promise<SMSMessages> {
  try {
    return await sms.send(params);
  } catch (err) {
    if (err instanceof SMSFailure) return err.getResponse();
    throw err;
  }
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
