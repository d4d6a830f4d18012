/**
 * The operator socket: how the CLI reaches a running `serve` that holds the embedded database.
 * PGlite allows one process per data directory (data-dir-lock.ts), so a second process cannot open
 * it; instead it asks the process that holds it, over a Unix domain socket inside the data directory:
 *
 *   DATA_DIR/run/operator.sock   in a directory created mode 0700, the socket itself chmod 0600.
 *
 * The filesystem is the authentication: only the OS user that owns the data directory (who can read
 * and write the database files anyway) can connect, so no key or token is issued, stored or
 * printed. The socket is a plain node:http server, not the Fastify app, with one route,
 * `POST /operations/<name>` and a JSON body, for the fixed list of operations.ts and nothing else.
 * On PostgreSQL none of this is needed: the CLI connects to the database itself.
 */
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '../logger.ts';
import { OperationRefused } from './context.ts';
import { isOperationName, type OperationName } from './operations.ts';

export function operatorSocketPath(dataDir: string): string {
  return join(dataDir, 'run', 'operator.sock');
}

// A template load carries every template file; nothing else comes near this.
const MAX_BODY_BYTES = 16 * 2 ** 20;
const ROUTE = /^\/operations\/([a-z.-]+)$/;

/** Runs one named operation with the serve's own parts (wired in src/app/operator-socket.ts). */
export type OperationHandler = (name: OperationName, input: unknown) => Promise<unknown>;

/** Serve the operations on the data directory's socket; resolves with the function that stops it. */
export async function serveOperatorSocket(opts: {
  dataDir: string;
  handle: OperationHandler;
  logger: Logger;
}): Promise<() => Promise<void>> {
  const dir = join(opts.dataDir, 'run');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // mkdir's mode is cut by the umask, and an existing dir keeps its own
  const path = operatorSocketPath(opts.dataDir);
  // A socket left by a process that died: this process holds the data-directory lock, so it is stale.
  if (lstatSync(path, { throwIfNoEntry: false })?.isSocket()) rmSync(path);
  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const name = ROUTE.exec(req.url ?? '')?.[1];
    if (req.method !== 'POST' || name === undefined || !isOperationName(name)) {
      req.resume();
      return answer(404, { error: `unknown operation ${req.method} ${req.url}` });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        answer(413, { error: 'the request is too large' });
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      let input: unknown;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return answer(400, { error: 'the request body is not JSON' });
      }
      opts.handle(name, input).then(
        (result) => answer(200, { result }),
        (err: unknown) => {
          if (err instanceof OperationRefused) return answer(422, { error: err.message });
          opts.logger.error({ err, operation: name }, 'operator socket: operation failed');
          answer(500, { error: `${name} failed in the running service (see its log)` });
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      rmSync(path, { force: true });
    });
}

/** The running service was reached but could not answer (it failed, or took too long). */
export class OperatorSocketError extends Error {
  override name = 'OperatorSocketError';
}

/** No live process answers on the socket: none listening (absent, or left by one that died). */
export class NoOperatorSocketError extends Error {
  override name = 'NoOperatorSocketError';
}

/** Run an operation in the process holding `dataDir`; a refusal comes back as OperationRefused. */
export function askOperator(
  dataDir: string,
  name: OperationName,
  input: unknown,
  timeoutMs = 60_000,
): Promise<unknown> {
  const path = operatorSocketPath(dataDir);
  const body = JSON.stringify(input);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        socketPath: path,
        method: 'POST',
        path: `/operations/${name}`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          let parsed: { result?: unknown; error?: string };
          try {
            parsed = JSON.parse(text) as typeof parsed;
          } catch {
            return reject(
              new OperatorSocketError(`the running service answered ${res.statusCode} without JSON`),
            );
          }
          if (res.statusCode === 200) resolve(parsed.result);
          else if (res.statusCode === 422) reject(new OperationRefused(parsed.error ?? 'refused'));
          else
            reject(new OperatorSocketError(parsed.error ?? `the running service answered ${res.statusCode}`));
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new OperatorSocketError(`the running service did not answer on ${path} in time`)),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      // ECONNREFUSED: a socket file no process listens on any more (one that was killed).
      reject(
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? new NoOperatorSocketError(`no process answers on ${path}`)
          : err,
      );
    });
    req.end(body);
  });
}
