import http from 'node:http';
import https from 'node:https';
import { Webhook } from 'standardwebhooks';
import { VERSION } from '../version.ts';
import { checkLiteralHost, guardedLookup, TargetRefused } from './target-guard.ts';

/** The first bytes of a receiver's answer that are kept with the attempt. */
export const EXCERPT_BYTES = 1024;

export interface WebhookRequest {
  url: string;
  messageId: string;
  /** The JSON body, signed exactly as sent. */
  body: string;
  /** The current secret first; during a rotation the previous one too (one signature each). */
  secrets: readonly string[];
  /** The `webhook-timestamp`: wall-clock time, which the receiver checks against its own. */
  signedAt: Date;
  timeoutMs: number;
  allowPrivate: boolean;
}

export interface WebhookResponse {
  /** The HTTP status, or null when no answer came (refused target, connection error, timeout). */
  status: number | null;
  error: string | null;
  latencyMs: number;
  excerpt: string | null;
  retryAfter: string | undefined;
}

/**
 * The three Standard Webhooks headers. The scheme is the `standardwebhooks` library's (HMAC-SHA256
 * over `id.timestamp.body`, `v1,` base64): the service does not re-implement it. Several
 * signatures are separated by spaces, which the spec's verifiers accept if any one matches.
 */
export function signatureHeaders(
  messageId: string,
  signedAt: Date,
  body: string,
  secrets: readonly string[],
) {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(messageId, signedAt, body)).join(' '),
  };
}

/**
 * One POST. A redirect is an answer like any other non-2xx (Node's http never follows one, so a
 * 3xx cannot bounce us to an internal address); the whole exchange, body excerpt included, is
 * bounded by `timeoutMs`; the socket resolves its host through the SSRF guard.
 */
export async function sendWebhook(r: WebhookRequest): Promise<WebhookResponse> {
  const started = performance.now();
  const done = (fields: Omit<WebhookResponse, 'latencyMs'>): WebhookResponse => ({
    ...fields,
    latencyMs: Math.round(performance.now() - started),
  });
  let url: URL;
  try {
    url = new URL(r.url);
    checkLiteralHost(url, r.allowPrivate);
  } catch (err) {
    return done({ status: null, error: describe(err), excerpt: null, retryAfter: undefined });
  }
  const signal = AbortSignal.timeout(r.timeoutMs);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<WebhookResponse>((resolve) => {
    const fail = (err: unknown) =>
      resolve(
        done({ status: null, error: describe(err, r.timeoutMs), excerpt: null, retryAfter: undefined }),
      );
    const req = client.request(
      url,
      {
        method: 'POST',
        signal,
        lookup: guardedLookup(r.allowPrivate),
        headers: {
          'content-type': 'application/json',
          'user-agent': `LaundryConnect-Notify-Webhooks/${VERSION}`,
          ...signatureHeaders(r.messageId, r.signedAt, r.body, r.secrets),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          const excerpt = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
          resolve(
            done({
              status: res.statusCode ?? null,
              error: null,
              excerpt: excerpt === '' ? null : excerpt,
              retryAfter: headerValue(res.headers['retry-after']),
            }),
          );
          res.destroy();
        };
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          // The rest is not read: a receiver cannot make us buffer a large answer.
          if (size >= EXCERPT_BYTES) finish();
        });
        res.on('end', finish);
        res.on('error', () => finish());
      },
    );
    req.on('error', fail);
    req.end(r.body);
  });
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function describe(err: unknown, timeoutMs?: number): string {
  if (err instanceof TargetRefused) return `refused: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === 'TimeoutError' || (e?.name === 'AbortError' && timeoutMs !== undefined))
    return `timeout: no answer within ${timeoutMs} ms`;
  const cause = (e?.cause as Error | undefined)?.message;
  return `${e?.code ?? e?.name ?? 'Error'}: ${cause ?? e?.message ?? String(err)}`.slice(0, 500);
}
