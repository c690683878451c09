import { GraphQLError } from 'graphql';

/**
 * The closed set of error codes clients can see. Anything thrown that is not one of these is
 * masked as INTERNAL_SERVER_ERROR outside development and logged with the request id.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  TIMEOUT: 'TIMEOUT',
  RATE_LIMITED: 'RATE_LIMITED',
  DEPTH_LIMIT_EXCEEDED: 'DEPTH_LIMIT_EXCEEDED',
  ALIAS_LIMIT_EXCEEDED: 'ALIAS_LIMIT_EXCEEDED',
  TOKEN_LIMIT_EXCEEDED: 'TOKEN_LIMIT_EXCEEDED',
  DIRECTIVE_LIMIT_EXCEEDED: 'DIRECTIVE_LIMIT_EXCEEDED',
  COST_LIMIT_EXCEEDED: 'COST_LIMIT_EXCEEDED',
  NOT_IMPLEMENTED: 'NOT_IMPLEMENTED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  /** Safelist mode: the operation's sha256 is not in the persisted query manifest (HTTP 400). */
  PERSISTED_QUERY_NOT_IN_SAFELIST: 'PERSISTED_QUERY_NOT_IN_SAFELIST',
  /** exportTraces: the filter matches more rows than EXPORT_MAX_ROWS (nothing was queued). */
  EXPORT_TOO_LARGE: 'EXPORT_TOO_LARGE',
  /** exportTraces: the org already has EXPORT_MAX_CONCURRENT_PER_ORG exports pending or running. */
  TOO_MANY_EXPORTS: 'TOO_MANY_EXPORTS',
  /** Download of an export that has not succeeded (yet), or whose file has expired (HTTP 409 / 410). */
  EXPORT_NOT_READY: 'EXPORT_NOT_READY',
  /**
   * The HTTP request itself is unusable: a method other than GET/POST (405), a body that is not
   * JSON (400), a content type other than JSON (415), over-long headers (431), unparseable HTTP
   * (400). Apollo emits the same code for the malformed requests it refuses itself.
   */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The request body is over MAX_BODY_BYTES, declared or counted (HTTP 413). */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes Apollo itself emits for malformed requests; they are expected and pass through. */
const APOLLO_PASSTHROUGH = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
  DEPTH_LIMIT_EXCEEDED: 400,
  ALIAS_LIMIT_EXCEEDED: 400,
  TOKEN_LIMIT_EXCEEDED: 400,
  DIRECTIVE_LIMIT_EXCEEDED: 400,
  COST_LIMIT_EXCEEDED: 400,
};

/**
 * The HTTP status of a coded error that refuses a whole request (before or instead of
 * execution, no `data`). Apollo answers such an error with 500 unless it carries a status; a
 * caller's mistake is a 4xx, a passing database problem stays 200 like in a field.
 */
export function requestErrorStatus(code: unknown): number {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
      return 403;
    case ErrorCode.RATE_LIMITED:
      return 429;
    case ErrorCode.SERVICE_UNAVAILABLE:
    case ErrorCode.TIMEOUT:
    case ErrorCode.NOT_IMPLEMENTED:
    case ErrorCode.INTERNAL_SERVER_ERROR:
    case 'PERSISTED_QUERY_NOT_FOUND':
      return 200;
    default:
      return 400;
  }
}

/** The same error with its request-level HTTP status when it has none yet. */
export function withRequestStatus<E extends GraphQLError>(err: E): E {
  const ext = err.extensions as { code?: unknown; http?: { status?: number } };
  if (ext.http?.status || typeof ext.code !== 'string') return err;
  (err as { extensions: Record<string, unknown> }).extensions = { ...ext, http: { ...ext.http, status: requestErrorStatus(ext.code) } };
  return err;
}

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    const status = HTTP_STATUS[code];
    super(message, {
      extensions: { ...extensions, code, ...(status ? { http: { status } } : {}) },
    });
  }
}

export const badInput = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, extensions);
export const notFound = (message: string) => new AppError(ErrorCode.NOT_FOUND, message);
export const unauthenticated = (message = 'A valid API key or token is required') =>
  new AppError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message: string) => new AppError(ErrorCode.FORBIDDEN, message);

export function isExpectedCode(code: unknown): boolean {
  return typeof code === 'string' && (code in ErrorCode || APOLLO_PASSTHROUGH.has(code)) && code !== 'INTERNAL_SERVER_ERROR';
}

/**
 * SERVICE_UNAVAILABLE with its documented HTTP status (200, like every coded GraphQL error) set
 * explicitly: an error thrown while building the request context (the API-key lookup) would
 * otherwise be answered by Apollo with HTTP 500.
 */
export const serviceUnavailable = (message: string) => new AppError(ErrorCode.SERVICE_UNAVAILABLE, message, { http: { status: 200 } });

// Socket-level failures of the connection to the database (Node's errno codes).
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENETRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ENOTCONN',
]);
// SQLSTATEs of a server that is going away or cannot take us: class 08 (connection exception),
// 57P01 admin_shutdown (pg_terminate_backend, fast shutdown), 57P02 crash_shutdown, 57P03
// cannot_connect_now (starting up / shutting down), 57P05 idle_session_timeout, 25P03
// idle_in_transaction_session_timeout (the server closes the session), 53300 too_many_connections.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P05', '25P03', '53300']);
// Messages of pg / pg-pool / Kysely for a connection that is gone, with no code of their own.
const CONNECTION_MESSAGES = [
  'Connection terminated', // "… unexpectedly", "… due to connection timeout"
  'is not queryable', // "Client has encountered a connection error and …", "Client was closed and …"
  'Postgres connection has been discarded',
  'connection is closed',
];
// The gateway itself is shutting down: pools ended, Kysely destroyed.
const SHUTDOWN_MESSAGES = ['driver has already been destroyed', 'Cannot use a pool after calling end on the pool'];

type DriverError = { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };

/** The error and what it wraps (cause chains, AggregateError of a multi-address connect). */
function* causesOf(err: unknown, depth = 0): Generator<DriverError> {
  if (!err || typeof err !== 'object' || depth > 4) return;
  const e = err as DriverError;
  yield e;
  if (e.cause) yield* causesOf(e.cause, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors.slice(0, 4)) yield* causesOf(inner, depth + 1);
}

/**
 * Maps driver errors to coded errors: statement timeouts, pool exhaustion, an unreachable or
 * restarting database, dead connections, and a gateway shutting down. Null: not a connection
 * or timeout problem (masked by the caller).
 */
export function fromDatabaseError(err: unknown): AppError | null {
  if (err instanceof AppError) return null;
  for (const e of causesOf(err)) {
    const code = typeof e.code === 'string' ? e.code : '';
    const msg = typeof e.message === 'string' ? e.message : '';
    if (code === '57014' || msg === 'Query read timeout') {
      return new AppError(ErrorCode.TIMEOUT, 'The query took longer than its statement timeout');
    }
    if (msg.includes('timeout exceeded when trying to connect')) {
      return serviceUnavailable('The database connection pool is exhausted; retry shortly');
    }
    if (SHUTDOWN_MESSAGES.some((m) => msg.includes(m))) {
      return serviceUnavailable('The gateway is shutting down; retry shortly');
    }
    if (NETWORK_CODES.has(code) || code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || CONNECTION_MESSAGES.some((m) => msg.includes(m))) {
      return serviceUnavailable('The database is unavailable; retry shortly');
    }
  }
  return null;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE of a query error PostgreSQL (or PGlite) answered, if that is what this is. */
export function sqlStateOf(err: unknown): string | null {
  for (const e of causesOf(err)) {
    const code = typeof e.code === 'string' ? e.code : '';
    // pg's DatabaseError carries severity beside the code; Node's errno codes are E-words.
    if (SQLSTATE.test(code) && 'severity' in (e as object)) return code;
  }
  return null;
}

// SQLSTATE classes that mean the request's values could not be used as given: 22 data
// exception (out of range, invalid text or datetime, NUL bytes), 54 program limit exceeded
// (too long, too deep). Whatever the gateway checked before, the database has the last word.
const CALLER_CLASSES = new Set(['22', '54']);

/**
 * Database query errors as clients see them: never PostgreSQL's text. The caller's fault
 * becomes BAD_USER_INPUT; anything else a masked INTERNAL_SERVER_ERROR (the detail goes to the
 * log). Null: not a query error of the database (connection problems: fromDatabaseError).
 */
export function fromQueryError(err: unknown): AppError | null {
  if (err instanceof AppError) return null;
  const state = sqlStateOf(err);
  if (!state) return null;
  if (CALLER_CLASSES.has(state.slice(0, 2))) {
    return new AppError(ErrorCode.BAD_USER_INPUT, 'A value in the request is out of range or cannot be used; check the arguments', { sqlState: state });
  }
  return new AppError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
}
