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
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes Apollo itself emits for malformed requests; they are expected and pass through. */
const APOLLO_PASSTHROUGH = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
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

/** Maps driver errors to coded errors: statement timeouts, pool exhaustion, unreachable DB. */
export function fromDatabaseError(err: unknown): AppError | null {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return null;
  if (e.code === '57014') return new AppError(ErrorCode.TIMEOUT, 'The query took longer than its statement timeout');
  const msg = e.message ?? '';
  if (msg.includes('timeout exceeded when trying to connect')) {
    return new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The database connection pool is exhausted; retry shortly');
  }
  if (
    e.code === 'ECONNREFUSED' ||
    e.code === '57P01' ||
    e.code === '57P03' ||
    msg.includes('Connection terminated') ||
    msg.includes('connect ECONNREFUSED')
  ) {
    return new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The database is unavailable; retry shortly');
  }
  return null;
}
