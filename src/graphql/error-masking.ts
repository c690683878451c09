import type { GraphQLFormattedError } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { Logger } from 'pino';
import { ErrorCode, fromDatabaseError, fromQueryError, isExpectedCode, sqlStateOf } from '../shared/errors';
import type { RequestContext } from '../context';

/** Errors the plugin below already logged with the request id; formatError logs the rest. */
const logged = new WeakSet<object>();

/**
 * Apollo formatError: coded errors pass through; connection and timeout failures become their
 * codes; a database query error never shows its text, in any mode (the caller's fault:
 * BAD_USER_INPUT; otherwise masked); anything else is masked outside development. Everything
 * unexpected is logged with enough to find it.
 */
export function createErrorFormatter(opts: { maskInternal: boolean; logger: Logger }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const dbError = fromDatabaseError(original);
    if (dbError) {
      return { message: dbError.message, path: formatted.path, extensions: { code: dbError.extensions.code } };
    }
    const queryError = fromQueryError(original);
    if (queryError) {
      logUnexpected(opts.logger, original, formatted.path);
      return { message: queryError.message, path: formatted.path, extensions: { code: queryError.extensions.code } };
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
    logUnexpected(opts.logger, original, formatted.path);
    if (!opts.maskInternal) return formatted;
    return {
      message: 'Internal server error',
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

function logUnexpected(logger: Logger, err: unknown, path: GraphQLFormattedError['path']): void {
  if (err && typeof err === 'object' && logged.has(err)) return;
  logger.error({ err, path, sqlState: sqlStateOf(err) ?? undefined }, 'unexpected error in GraphQL request');
}

/**
 * Logs every uncoded error of an operation with the request id (x-request-id) before it is
 * formatted and masked, so that a masked answer can be found in the log.
 */
export function errorLoggingPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors(rc) {
          for (const e of rc.errors) {
            const original = unwrapResolverError(e);
            if (isExpectedCode(e.extensions?.code) || fromDatabaseError(original)) continue;
            if (!original || typeof original !== 'object' || logged.has(original)) continue;
            logged.add(original);
            rc.contextValue.logger.error({ err: original, path: e.path, sqlState: sqlStateOf(original) ?? undefined }, 'unexpected error in GraphQL request');
          }
        },
      };
    },
  };
}
