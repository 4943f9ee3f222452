// Which failures of a query mean "the database is not there right now" rather
// than "this query is wrong". The first kind is the operator's outage, not a
// bug: the API answers 503 ERR::DATABASE::UNAVAILABLE (retryable) for it and
// recovers by itself, since pg.Pool drops dead clients and connects anew.

/** Socket errors of the connection to the server (refused, reset, unreachable, DNS). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs the server sends when it is going away or not yet up:
 * admin_shutdown, crash_shutdown, cannot_connect_now ("the database system is
 * starting up"), and too_many_connections, which a client can only wait out.
 * Class 08 (connection exceptions) is matched as a class below.
 */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * Messages node-postgres raises without a code: a socket closed under a
 * query, the pool's connect timeout, a client left broken by an earlier
 * socket error.
 */
const MESSAGES = [
  /^Connection terminated/i, // "...unexpectedly", "...due to connection timeout"
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error and is not queryable/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const { code, message, errors, cause } = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (typeof message === 'string' && MESSAGES.some((m) => m.test(message))) return true;
  // Node's connect to a name with several addresses (localhost: ::1 and
  // 127.0.0.1) fails with an AggregateError of one error per address.
  if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => isDatabaseUnavailable(e, depth + 1))) return true;
  return cause !== undefined && isDatabaseUnavailable(cause, depth + 1);
}
