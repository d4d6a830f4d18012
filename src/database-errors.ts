/**
 * Whether a query failed because the database could not be reached or went away (a restart, a
 * failover, a refused or dropped connection) rather than because of the query itself. Such a
 * request can be retried unchanged, so the API answers 503 with Retry-After, not 500.
 */

/** Connection exceptions (class 08), shutdowns and "cannot connect now" (57P01–57P03), too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH']);
/** node-postgres reports a dropped connection and a pool that cannot connect by message only, with no code. */
const DROPPED =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout)/;

export function isDatabaseUnavailable(err: unknown): boolean {
  return anyCause(
    err,
    (code, message) =>
      (code !== undefined && (UNAVAILABLE_SQLSTATE.test(code) || SOCKET_ERRORS.has(code))) ||
      DROPPED.test(message),
  );
}

/**
 * Whether a write failed because the database's disk is full: SQLSTATE 53100 disk_full (PostgreSQL,
 * and PGlite, which reports its data directory's ENOSPC as `could not extend file …: No space left
 * on device`), or ENOSPC from a write of our own. Nothing is wrong with the request: it can be
 * repeated once space is freed, so the API answers 503 STORAGE_FULL, not 500.
 */
export function isStorageFull(err: unknown): boolean {
  return anyCause(err, (code) => code === '53100' || code === 'ENOSPC');
}

/** `test` on the error and its causes (Drizzle wraps the driver's error in `cause`), bounded, as a cause chain can loop. */
function anyCause(err: unknown, test: (code: string | undefined, message: string) => boolean): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 4; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (test(typeof code === 'string' ? code : undefined, e.message)) return true;
  }
  return false;
}
