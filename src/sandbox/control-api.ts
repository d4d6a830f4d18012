/**
 * `/sandbox/*`: the control plane for tests, benchmarks and the dashboard — inspect and reset
 * messages (of one provider or both), read counters, change faults from another process, and
 * simulate inbound SMS through Twilio or Vonage.
 * Unauthenticated on purpose: the sandbox binds to loopback and is never a production service.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { faultConfigSchema } from './faults.ts';
import { readBody, sendJson } from './http-io.ts';
import { toSandboxView } from './message-resource.ts';
import type { TwilioSandbox } from './server.ts';

const inboundSchema = z.strictObject({
  from: z.string().min(1),
  to: z.string().min(1),
  body: z.string(),
  url: z.url(),
});

const vonageInboundSchema = z.strictObject({
  from: z.string().min(1),
  to: z.string().min(1),
  text: z.string(),
  url: z.url().optional(),
});

const providerSchema = z.enum(['twilio', 'vonage']).nullable();

async function readJson(req: IncomingMessage): Promise<unknown> {
  try {
    return JSON.parse(await readBody(req));
  } catch {
    return undefined;
  }
}

function badRequest(res: ServerResponse, error: string, issues?: unknown): void {
  sendJson(res, 400, { error, issues });
}

export async function handleControl(
  sandbox: TwilioSandbox,
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  search: URLSearchParams,
): Promise<void> {
  const key = `${req.method} ${route}`;
  switch (key) {
    case 'GET /sandbox/messages': {
      const to = search.get('to');
      const provider = providerSchema.safeParse(search.get('provider'));
      if (!provider.success) return badRequest(res, 'provider must be twilio or vonage');
      const limit = Number(search.get('limit') ?? 100);
      const messages = sandbox
        .messages()
        .filter(
          (m) => (to === null || m.to === to) && (provider.data === null || m.provider === provider.data),
        );
      sendJson(res, 200, { messages: messages.slice(0, Math.max(0, limit)).map(toSandboxView) });
      return;
    }
    case 'DELETE /sandbox/messages':
      sandbox.clearMessages();
      res.writeHead(204).end();
      return;
    case 'GET /sandbox/stats':
      sendJson(res, 200, sandbox.stats());
      return;
    case 'GET /sandbox/faults':
      sendJson(res, 200, sandbox.faults());
      return;
    case 'PUT /sandbox/faults': {
      const parsed = faultConfigSchema.safeParse(await readJson(req));
      if (!parsed.success) return badRequest(res, 'invalid fault configuration', parsed.error.issues);
      sandbox.setFaults(parsed.data);
      sendJson(res, 200, sandbox.faults());
      return;
    }
    case 'POST /sandbox/inbound': {
      const parsed = inboundSchema.safeParse(await readJson(req));
      if (!parsed.success) return badRequest(res, 'expected JSON {from, to, body, url}', parsed.error.issues);
      try {
        sendJson(res, 200, await sandbox.sendInbound(parsed.data));
      } catch (err) {
        sendJson(res, 502, { error: `inbound webhook failed: ${String(err)}` });
      }
      return;
    }
    case 'POST /sandbox/vonage/inbound': {
      const parsed = vonageInboundSchema.safeParse(await readJson(req));
      if (!parsed.success)
        return badRequest(res, 'expected JSON {from, to, text, url?}', parsed.error.issues);
      try {
        sendJson(res, 200, await sandbox.sendVonageInbound(parsed.data));
      } catch (err) {
        sendJson(res, 502, { error: `inbound webhook failed: ${String(err)}` });
      }
      return;
    }
    default:
      sendJson(res, 404, { error: `no sandbox route ${key}` });
  }
}
