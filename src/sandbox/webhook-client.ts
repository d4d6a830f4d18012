/**
 * Posts webhooks over keep-alive connections, because a load test produces thousands of callbacks
 * per second: form-encoded and signed in a header the way Twilio does (status callbacks, inbound
 * SMS), or JSON the way Vonage does (receipts, inbound SMS; Vonage signs inside the body).
 */
import http from 'node:http';
import https from 'node:https';
import twilio from 'twilio';

const TIMEOUT_MS = 10_000;
const TWILIO_HEADERS = {
  'content-type': 'application/x-www-form-urlencoded',
  'user-agent': 'TwilioProxy/1.1',
};
const VONAGE_HEADERS = { 'content-type': 'application/json', 'user-agent': 'Vonage-Webhooks' };

export interface WebhookResponse {
  status: number;
  body: string;
}

export class WebhookClient {
  readonly #authToken: string;
  readonly #httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  readonly #httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(authToken: string) {
    this.#authToken = authToken;
  }

  post(url: string, params: Record<string, string>): Promise<WebhookResponse> {
    const payload = new URLSearchParams(params).toString();
    const signature = twilio.getExpectedTwilioSignature(this.#authToken, url, params);
    return this.#send(url, payload, { ...TWILIO_HEADERS, 'x-twilio-signature': signature }, true);
  }

  postJson(url: string, body: unknown): Promise<WebhookResponse> {
    return this.#send(url, JSON.stringify(body), VONAGE_HEADERS, true);
  }

  #send(
    url: string,
    payload: string,
    headers: Record<string, string>,
    retryStale: boolean,
  ): Promise<WebhookResponse> {
    const secure = url.startsWith('https:');
    const request = secure ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: secure ? this.#httpsAgent : this.#httpAgent,
          timeout: TIMEOUT_MS,
          headers: { ...headers, 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`webhook timed out after ${TIMEOUT_MS} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the receiver closed while idle: the request never arrived, so resend
        // once on a fresh socket (the pattern Node's http docs recommend for reused sockets).
        if (retryStale && req.reusedSocket && err.code === 'ECONNRESET') {
          resolve(this.#send(url, payload, headers, false));
          return;
        }
        reject(err);
      });
      req.end(payload);
    });
  }

  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }
}
