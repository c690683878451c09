import type { ApolloServerPlugin, GraphQLRequestContext, GraphQLRequestListener } from '@apollo/server';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { RequestContext } from '../context';
import type { FieldCache } from '../cache/field-cache';
import { cacheTtlsOf } from '../cache/cache-policy';
import type { GatewayLimits } from '../limits';
import { costLimitExceeded, maxCostFor } from '../limits/charge';
import { recodeTokenLimitErrors } from '../limits/document-limits';
import { safelistRefusal, type Safelist } from '../persisted-queries/safelist';
import { AppError, ErrorCode, withRequestStatus } from '../shared/errors';
import { nulLiteralIn } from './document-literals';
import { recordOperationCost } from '../telemetry/graphql-telemetry';
import { takeBudgetAndLookUp } from './budget-and-lookup';
import { CompiledOperations } from './compiled-operation';
import { settleCost, writeHeadersAndExtensions } from './finish';
import { newOperationRecord, type OperationRecord } from './operation-record';
import { answerWithoutExecution, releaseFills, storeAndAssemble } from './respond';

export interface RequestPipelineOptions {
  readonly config: Config;
  /** The per-field cache, when enabled. */
  readonly cache?: FieldCache;
  /** Document limits, pricing and budgets, when enabled. */
  readonly limits?: GatewayLimits;
  readonly safelist?: Safelist;
  readonly metrics: boolean;
  readonly logger: Logger;
}

type Rc = GraphQLRequestContext<RequestContext>;

/**
 * The request pipeline: one Apollo plugin that runs every stage of an operation in order,
 * each filling its slot of the operation record on the context (operation-record.ts):
 *
 *   didResolveOperation   admission (safelist) → compile → document limits → price →
 *                         budget + cache lookup (one Redis round trip)
 *   responseForOperation  answer without executing (dry run, cache) or narrow the document
 *   (Apollo executes what is missing)
 *   willSendResponse      store and assemble → actual cost and refund → headers and extensions
 *
 * Refusals are thrown from didResolveOperation, where Apollo turns a coded error into the
 * response with its HTTP status and still runs willSendResponse; nothing later throws.
 */
export function requestPipelinePlugin(opts: RequestPipelineOptions): ApolloServerPlugin<RequestContext> {
  const compiledOperations = compiledOperationsPerSchema(opts);
  return {
    async serverWillStart() {
      return {
        // Refunds still waiting to be coalesced go out before the Redis connection closes.
        async serverWillStop() {
          await opts.limits?.refunds.flush();
        },
      };
    },

    async requestDidStart(start) {
      // Apollo gives each operation its own shallow copy of the context: its own record too.
      const record = newOperationRecord();
      start.contextValue.operation = record;
      return operationStages(opts, compiledOperations, record);
    },
  };
}

type CompiledOperationsFor = (schema: GraphQLSchema) => CompiledOperations;

/** The compiled-operation cache, rebuilt when the schema changes (its rules and TTLs derive from it). */
function compiledOperationsPerSchema(opts: RequestPipelineOptions): CompiledOperationsFor {
  const { config, cache, limits } = opts;
  let compiledFor: { schema: GraphQLSchema; operations: CompiledOperations } | undefined;
  return (schema) => {
    if (compiledFor?.schema !== schema) {
      compiledFor = {
        schema,
        operations: new CompiledOperations(config.operationCacheMaxEntries, {
          limits: limits ? { rules: limits.rulesFor(schema), documentLimits: limits.documentLimits } : undefined,
          ttls: cacheTtlsOf(schema, config.cache.ttlOverrides),
          cache: cache ? { keyPrefix: cache.options.keyPrefix } : undefined,
        }),
      };
    }
    return compiledFor.operations;
  };
}

/** One operation's hooks, every stage reading and filling `record`. */
function operationStages(opts: RequestPipelineOptions, compiledOperations: CompiledOperationsFor, record: OperationRecord): GraphQLRequestListener<RequestContext> {
  const { config, cache, limits } = opts;
  return {
    async didResolveOperation(rc) {
      try {
        refuseUnservable(rc);
        if (!resolveAndPrice(opts, compiledOperations, rc, record)) return;
        const debug = rc.request.http?.headers.get('x-cache-debug') === '1';
        await takeBudgetAndLookUp(rc.contextValue, record, debug, { config, limits, cache, metrics: opts.metrics });
      } catch (err) {
        // Whatever stage refused (admission, limits, pricing hooks, budget): a coded error
        // answers with its status, never Apollo's default 500.
        throw err instanceof GraphQLError ? withRequestStatus(err) : err;
      }
    },

    async responseForOperation(rc) {
      return answerWithoutExecution(rc, record);
    },

    async didEncounterErrors(rc) {
      // Apollo formats this same array after the hook: the parser's abort gets our code.
      if (limits) recodeTokenLimitErrors(rc.errors as GraphQLError[], limits.documentLimits);
    },

    async willSendResponse(rc) {
      try {
        storeAndAssemble(rc, record, cache);
      } finally {
        releaseFills(record);
      }
      if (limits) settleCost(rc, record, limits);
      writeHeadersAndExtensions(rc, record, limits);
    },
  };
}

/** Admission, compile, document limits, price. False when execution should report the problem itself. */
function resolveAndPrice(opts: RequestPipelineOptions, compiledOperations: CompiledOperationsFor, rc: Rc, record: OperationRecord): boolean {
  const { config, limits } = opts;
  const refusal = opts.safelist ? safelistRefusal(opts.safelist, rc.queryHash) : null;
  if (refusal) throw refusal;
  if (!rc.operation || !rc.document) {
    // Without limits, Apollo's execution reports the unknown operation itself.
    if (limits) throw unknownOperation(rc.request.operationName);
    return false;
  }
  const compiled = compiledOperations(rc.schema).get({
    schema: rc.schema,
    document: rc.document,
    operation: rc.operation,
    queryHash: rc.queryHash ?? '',
    operationName: rc.request.operationName,
    rawVariables: rc.request.variables,
    viewer: rc.contextValue.viewer,
  });
  if (!compiled) return false; // variables do not coerce: execution refuses them
  record.compiled = compiled;
  if (!limits || rc.contextValue.viewer.internal) return true;
  if (compiled.verdict) throw compiled.verdict;
  const pricing = compiled.pricing!;
  if ('error' in pricing) throw pricing.error;
  record.price = pricing.price;
  if (opts.metrics) recordOperationCost(pricing.price.operation.operation, pricing.price.cost);
  const maxCost = maxCostFor(config, rc.contextValue.viewer);
  if (pricing.price.cost > maxCost) throw costLimitExceeded(pricing.price, maxCost);
  return true;
}

/**
 * Requests no stage may run: subscriptions (the gateway has no Subscription type and no
 * transport for them; graphql-js 16 would fail in execution) and NUL characters in the
 * document's string literals (variables are checked at the HTTP boundary).
 */
function refuseUnservable(rc: Rc): void {
  if (rc.operation?.operation === 'subscription') {
    throw new AppError(ErrorCode.BAD_USER_INPUT, 'Subscriptions are not supported: send a query or a mutation', { http: { status: 400 } });
  }
  if (rc.document && nulLiteralIn(rc.document)) {
    throw new AppError(ErrorCode.BAD_USER_INPUT, 'Strings may not contain the NUL character (U+0000)', { http: { status: 400 } });
  }
}

function unknownOperation(name: string | null | undefined): AppError {
  return new AppError(ErrorCode.BAD_USER_INPUT, name ? `Unknown operation ${name}` : 'Give operationName: the document has several operations', {
    http: { status: 400 },
  });
}
