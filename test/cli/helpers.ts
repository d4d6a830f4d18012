import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from '../../src/db/database.ts';
import { openDatabase } from '../../src/db/database.ts';
import { createTestDatabase, ENGINE, silentLogger } from '../helpers/test-db.ts';

export const BIN = fileURLToPath(new URL('../../bin/laundryconnect-notify.js', import.meta.url));

export interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI in a scratch working directory (no stray `.env`) with only the variables given:
 * nothing from the developer's environment (Twilio credentials, DATABASE_URL) reaches it. Async,
 * so a sandbox served by the test process keeps answering while the command runs.
 */
export function cli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<CliResult> {
  const cwd = mkdtempSync(join(tmpdir(), 'lcn-cli-'));
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn', DATA_DIR: join(cwd, 'data'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `laundryconnect-notify ${args.join(' ')} still running after ${timeoutMs} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code: code ?? signal ?? -1, stdout, stderr });
    });
  });
}

export interface CliDatabase {
  /** DATABASE_URL (PostgreSQL) or DATA_DIR (PGlite) for the CLI. */
  env: Record<string, string>;
  /** Runs `fn` on the database; on PGlite it is opened and closed around it (one process per data dir). */
  use<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A database of the test's own, for the CLI to open: a fresh PostgreSQL database under
 * `--engine postgres`, else a fresh data directory migrated by the CLI's own `migrate`.
 */
export async function cliDatabase(): Promise<CliDatabase> {
  if (ENGINE === 'postgres') {
    const test = await createTestDatabase();
    return {
      env: { DATABASE_URL: test.url! },
      use: (fn) => fn(test.database.db),
      close: () => test.close(),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'lcn-cli-data-'));
  const migrated = await cli(['migrate'], { DATA_DIR: dir });
  if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  return {
    env: { DATA_DIR: dir },
    async use(fn) {
      const database = await openDatabase({ dataDir: dir, logger: silentLogger });
      try {
        return await fn(database.db);
      } finally {
        await database.close();
      }
    },
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
