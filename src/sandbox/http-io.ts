/** The few request/response helpers the sandbox's plain `node:http` handlers share. */
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;
const MAX_DRAINED_BYTES = 16 * MAX_BODY_BYTES;

export class BodyTooLargeError extends Error {}

/**
 * An oversized body is read to its end and thrown away before rejecting: closing the socket while
 * the client still writes resets the connection, and the client would never see the 413. A body
 * far past the limit is cut off, since draining it would cost as much as storing it.
 */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (bytes > MAX_DRAINED_BYTES) req.destroy();
    });
    req.on('end', () =>
      bytes > MAX_BODY_BYTES
        ? reject(new BodyTooLargeError(`The request body is over ${MAX_BODY_BYTES} bytes`))
        : resolve(Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const payload = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}
