import { context, createContextKey, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ErrorCode, fromDatabaseError } from '../shared/errors';
import { BoundedLabel } from './labels';
import { graphqlOperationCost, graphqlOperationsTotal, graphqlResolverErrorsTotal } from './metrics';

const tracer = trace.getTracer('analytics-gateway.graphql');
const GRAPHQL_SPAN = createContextKey('analytics-gateway.graphql-span');
const operationNames = new BoundedLabel(200, 64);

/**
 * Runs one GraphQL request inside an operation span that is active for its whole execution, so
 * the pg and redis spans of its resolvers nest under it; its parent is the HTTP server span.
 */
export function withGraphQLSpan<T>(fn: () => Promise<T>): Promise<T> {
  const parent = context.active();
  const span = tracer.startSpan('graphql', {}, parent);
  return context.with(trace.setSpan(parent, span).setValue(GRAPHQL_SPAN, span), fn).finally(() => span.end());
}

function activeOperationSpan(): Span | undefined {
  return context.active().getValue(GRAPHQL_SPAN) as Span | undefined;
}

/** For the pricing feature: the priced cost goes on the histogram and the operation span. */
export function recordOperationCost(type: string, cost: number): void {
  graphqlOperationCost.observe({ type }, cost);
  activeOperationSpan()?.setAttribute('graphql.operation.cost', cost);
}

/** Error codes are a closed set already; anything else is counted as `other`. */
function errorCodeOf(err: { extensions?: Record<string, unknown>; originalError?: unknown }): string {
  const db = fromDatabaseError(err.originalError ?? err);
  const code = db ? db.extensions.code : err.extensions?.code;
  return typeof code === 'string' && code in ErrorCode ? code : 'other';
}

export interface GraphQLTelemetryOptions {
  readonly metrics: boolean;
  /** Put the document text on the span (off by default: literals may carry user data). */
  readonly includeDocument: boolean;
}

/**
 * Names the operation span `<type> <name>` with graphql.operation.* attributes, marks it failed
 * when errors occur, and counts operations and field errors.
 */
export function graphqlTelemetryPlugin(opts: GraphQLTelemetryOptions): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      const span = activeOperationSpan();
      return {
        async didResolveOperation(rc) {
          if (!span || !rc.operation) return;
          const type = rc.operation.operation;
          const name = rc.operationName ? operationNames.of(rc.operationName) : 'anonymous';
          span.updateName(`${type} ${name}`);
          span.setAttributes({ 'graphql.operation.type': type, 'graphql.operation.name': rc.operationName ?? 'anonymous' });
          if (opts.includeDocument && rc.source) span.setAttribute('graphql.document', rc.source);
        },
        async didEncounterErrors(rc) {
          let fieldErrors = 0;
          for (const err of rc.errors) {
            if (!err.path) continue;
            fieldErrors++;
            const code = errorCodeOf(err as never);
            if (opts.metrics) graphqlResolverErrorsTotal.inc({ code });
            span?.addEvent('graphql.error', { 'graphql.error.code': code, 'graphql.error.path': err.path.join('.') });
          }
          span?.setStatus({ code: SpanStatusCode.ERROR, message: fieldErrors ? `${fieldErrors} field error(s)` : 'request error' });
        },
        async willSendResponse(rc) {
          if (!opts.metrics) return;
          const type = rc.operation?.operation ?? 'invalid';
          const name = rc.operationName ?? rc.request.operationName;
          graphqlOperationsTotal.inc({ operation: name ? operationNames.of(name) : 'anonymous', type });
        },
      };
    },
  };
}
