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
  // Drizzle wraps the driver's error in `cause`; bounded, as a cause chain can loop.
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 4; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || SOCKET_ERRORS.has(code))) return true;
    if (DROPPED.test(e.message)) return true;
  }
  return false;
}
