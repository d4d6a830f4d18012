/**
 * The `stats` command while `serve` runs on the embedded database. PGlite allows one process per
 * data directory (data-dir-lock.ts), so a second process cannot open it to read; instead it asks
 * the process that holds it, over a Unix domain socket inside the data directory:
 *
 *   DATA_DIR/run/stats.sock   in a directory created mode 0700, the socket itself chmod 0600.
 *
 * The filesystem is the authentication: only the OS user that owns the data directory (who can read
 * the database files anyway) can connect, so no key or token has to be issued, stored or printed.
 * The socket is a plain node:http server, not the Fastify app, with one read-only route
 * (`GET /stats?window=…`), so a connection to it can do nothing but read these figures. It answers
 * with the same module the API uses (delivery-stats.ts). The serve's own clock makes "today".
 * On PostgreSQL none of this is needed: the CLI connects to the database itself.
 */
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import type { Queryable } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { type DeliveryStats, deliveryStats } from './delivery-stats.ts';
import { type StatsQuery, StatsWindowError, statsQuery, windowFromQuery } from './stats-window.ts';

export function statsSocketPath(dataDir: string): string {
  return join(dataDir, 'run', 'stats.sock');
}

/** Serve the stats on the data directory's socket; resolves with the function that stops it. */
export async function serveLocalStats(opts: {
  dataDir: string;
  db: Queryable;
  timeZone: string;
  logger: Logger;
}): Promise<() => Promise<void>> {
  const dir = join(opts.dataDir, 'run');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // mkdir's mode is cut by the umask, and an existing dir keeps its own
  const path = statsSocketPath(opts.dataDir);
  // A socket left by a process that died: this process holds the data-directory lock, so it is stale.
  if (lstatSync(path, { throwIfNoEntry: false })?.isSocket()) rmSync(path);
  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || url.pathname !== '/stats') return answer(404, { error: 'GET /stats only' });
    const parsed = statsQuery.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) return answer(400, { error: parsed.error.issues.map((i) => i.message).join('; ') });
    const now = new Date();
    let window: ReturnType<typeof windowFromQuery>;
    try {
      window = windowFromQuery(parsed.data, opts.timeZone, now);
    } catch (err) {
      if (err instanceof StatsWindowError) return answer(400, { error: err.message });
      throw err;
    }
    deliveryStats(opts.db, window, now).then(
      (stats) => answer(200, stats),
      (err: unknown) => {
        opts.logger.error({ err }, 'stats socket: query failed');
        answer(500, { error: 'the stats query failed (see the serve log)' });
      },
    );
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
      rmSync(path, { force: true });
    });
}

/** Thrown when no live process answers on the socket (none listening, or an older version). */
export class NoLocalStatsError extends Error {
  override name = 'NoLocalStatsError';
}

/** Ask the process holding `dataDir` for the stats of a window. */
export function askLocalStats(
  dataDir: string,
  query: StatsQuery,
  timeoutMs = 30_000,
): Promise<DeliveryStats> {
  const params = new URLSearchParams(
    Object.entries(query).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { socketPath: statsSocketPath(dataDir), path: `/stats?${params}`, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          try {
            const parsed = JSON.parse(body) as DeliveryStats & { error?: string };
            if (res.statusCode === 200) resolve(parsed);
            else reject(new Error(parsed.error ?? `the running process answered ${res.statusCode}`));
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('the running process did not answer in time')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? new NoLocalStatsError(`no process answers on ${statsSocketPath(dataDir)}`)
          : err,
      );
    });
    req.end();
  });
}
