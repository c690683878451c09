import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Logger } from 'pino';
import { ErrorCode, fromDatabaseError, isExpectedCode } from '../shared/errors';

/**
 * Apollo formatError: coded errors pass through; database failures become their codes;
 * everything else is masked (outside development) and logged with enough to find it.
 */
export function createErrorFormatter(opts: { maskInternal: boolean; logger: Logger }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const dbError = fromDatabaseError(original);
    if (dbError) {
      return { message: dbError.message, path: formatted.path, extensions: { code: dbError.extensions.code } };
    }
    if (isExpectedCode(formatted.extensions?.code)) {
      const { stacktrace: _s, exception: _e, ...ext } = (formatted.extensions ?? {}) as Record<string, unknown>;
      return { ...formatted, extensions: ext };
    }
    // Request-level refusals Apollo raises without a code (e.g. an APQ hash that does not match
    // its query) carry a 4xx status: they are the client's mistake, so they are not masked.
    const status = (original as { extensions?: { http?: { status?: number } } } | null)?.extensions?.http?.status;
    if (!formatted.path && typeof status === 'number' && status >= 400 && status < 500) {
      return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
    }
    opts.logger.error({ err: original, path: formatted.path }, 'unexpected error in GraphQL request');
    if (!opts.maskInternal) return formatted;
    return {
      message: 'Internal server error',
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
