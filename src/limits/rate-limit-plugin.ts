import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestContext, type GraphQLResponse } from '@apollo/server';
import { Kind, execute, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { subjectOf, type Viewer } from '../auth/viewer';
import { AppError, ErrorCode } from '../shared/errors';
import { graphqlOperationCost, rateLimitExceededTotal, rateLimitRemaining } from '../telemetry/metrics';
import { actualCost } from './actual-cost';
import { analyticsSettingsFrom } from './analytics-work';
import type { BucketSpec, BudgetStore, LimitStoreMode } from './budget-store';
import { asGraphQLResponse, type CacheHooks } from './cache-hooks';
import { CostRules } from './cost-rules';
import { documentVerdict, type DocumentLimits } from './document-limits';
import { priceOperation, type OperationPrice } from './pricing';
import { rateLimitHeaders, retryAfterSeconds, throttleStatusOf } from './rate-limit-headers';
import { recordRateLimit } from './rate-limit-state';

export interface RateLimitPluginOptions {
  readonly config: Pick<Config, 'limits' | 'analytics' | 'database' | 'redisKeyPrefix'>;
  readonly store: BudgetStore;
  readonly cache?: CacheHooks;
  readonly metrics?: boolean;
  readonly logger?: Logger;
  /** The document limits checked first (by documentLimitsPlugin): refused documents are not charged. */
  readonly documentLimits?: DocumentLimits;
}

/** Bucket keys: one hash tag per org and subject, so a request's buckets share a cluster slot. */
export function bucketKeys(prefix: string, viewer: Viewer) {
  const tag = `${prefix}rl:{${viewer.orgId}:${subjectOf(viewer)}}`;
  return { budget: `${tag}:budget`, field: (name: string) => `${tag}:field:${name}` };
}

interface RequestState {
  price?: OperationPrice;
  budget?: BucketSpec;
  store?: LimitStoreMode;
  remaining?: number;
  charged: boolean;
  retryAfter?: number;
  cached?: GraphQLResponse;
}

/**
 * Rate limiting by cost. In didResolveOperation (variables known): price the operation, refuse
 * it over the per-operation maximum (COST_LIMIT_EXCEEDED, 400), then take its estimate from the
 * caller's bucket and its per-field limits in one atomic step; refuse with 429 RATE_LIMITED and
 * Retry-After when short, unless the cache can answer the whole request. After execution,
 * refund estimate − actual; every response carries extensions.cost and RateLimit headers.
 */
export function rateLimitPlugin(opts: RateLimitPluginOptions): ApolloServerPlugin<any> {
  const { config, store, cache } = opts;
  const limits = config.limits;
  const analytics = analyticsSettingsFrom(config);
  const rulesBySchema = new WeakMap<GraphQLSchema, CostRules>();
  // A price depends only on the document, the operation and the variables: Apollo hands the same
  // DocumentNode for a repeated query, so dashboards asking the same thing are priced once.
  const prices = new WeakMap<object, Map<string, OperationPrice>>();
  const priceOf = (rules: CostRules, rc: GraphQLRequestContext<any>): OperationPrice => {
    const document = rc.document!;
    const key = `${rc.request.operationName ?? ''}\u0000${rc.request.variables ? JSON.stringify(rc.request.variables) : ''}`;
    let byKey = prices.get(document);
    if (!byKey) prices.set(document, (byKey = new Map()));
    let price = byKey.get(key);
    if (!price) {
      price = priceOperation(rules, { document, operationName: rc.request.operationName, variables: rc.request.variables });
      if (byKey.size >= 64) byKey.clear();
      byKey.set(key, price);
    }
    return price;
  };
  const rulesFor = (schema: GraphQLSchema) => {
    let r = rulesBySchema.get(schema);
    if (!r) rulesBySchema.set(schema, (r = new CostRules(schema, analytics)));
    return r;
  };

  return {
    async requestDidStart() {
      const state: RequestState = { charged: false };
      return {
        async didResolveOperation(rc) {
          const viewer = (rc.contextValue as { viewer?: Viewer }).viewer;
          if (!viewer || !rc.document || viewer.internal) return;
          if (opts.documentLimits && documentVerdict(rc.document, undefined, opts.documentLimits)) return;
          const rules = rulesFor(rc.schema);
          const price = priceOf(rules, rc);
          state.price = price;
          const budget = limits.budgets[viewer.role];
          const keys = bucketKeys(config.redisKeyPrefix, viewer);
          const bucket: BucketSpec = { key: keys.budget, capacity: budget.burst, perMinute: budget.perMinute };
          state.budget = bucket;
          if (opts.metrics) graphqlOperationCost.observe({ type: price.operation.operation }, price.cost);
          const maxCost = Math.min(limits.maxCostPerOperation, budget.burst);
          if (price.cost > maxCost) {
            throw new AppError(ErrorCode.COST_LIMIT_EXCEEDED, `The operation costs ${price.cost} points; at most ${maxCost} are allowed for one operation`, {
              limit: maxCost,
              cost: price.cost,
            });
          }

          const buckets: BucketSpec[] = [bucket];
          const costs: number[] = [price.dryRun ? 0 : price.cost];
          if (!price.dryRun) {
            for (const [field, calls] of Object.entries(price.rootFieldCalls)) {
              const limit = limits.fieldLimits[field];
              if (limit === undefined) continue;
              buckets.push({ key: keys.field(field), capacity: limit, perMinute: limit });
              costs.push(calls);
            }
          }
          const taken = await store.take(buckets, costs);
          state.store = taken.store;
          state.remaining = taken.remaining[0];
          state.charged = taken.allowed && !price.dryRun;
          const snapshot = {
            dryRun: price.dryRun,
            requestedQueryCost: price.cost,
            ...throttleStatusOf(bucket.capacity, bucket.perMinute, taken.remaining[0]!),
            limitPerMinute: bucket.perMinute,
            maxCostPerOperation: maxCost,
            store: taken.store,
          };
          recordRateLimit(rc.contextValue as object, snapshot);
          if (taken.allowed) {
            if (opts.metrics) rateLimitRemaining.observe({ role: viewer.role }, Math.max(0, taken.remaining[0]!));
            return;
          }

          if (opts.metrics) rateLimitExceededTotal.inc({ role: viewer.role });
          const short = buckets[taken.failed]!;
          const needed = costs[taken.failed]!;
          state.retryAfter = retryAfterSeconds(needed, taken.remaining[taken.failed]!, short.perMinute);
          if (cache?.answerFromCache) {
            try {
              const answer = asGraphQLResponse(await cache.answerFromCache(rc));
              if (answer) {
                state.cached = answer;
                return;
              }
            } catch (err) {
              opts.logger?.warn({ err }, 'answerFromCache failed; refusing with 429');
            }
          }
          const field = taken.failed > 0 ? short.key.slice(short.key.lastIndexOf(':') + 1) : undefined;
          throw new AppError(
            ErrorCode.RATE_LIMITED,
            field
              ? `${field} may be called ${short.perMinute} times per minute; retry in ${state.retryAfter} s`
              : `The operation costs ${price.cost} points and ${Math.floor(taken.remaining[0]!)} are left; retry in ${state.retryAfter} s`,
            {
              cost: price.cost,
              retryAfter: state.retryAfter,
              ...(field ? { field, limitPerMinute: short.perMinute } : {}),
              throttleStatus: throttleStatusOf(bucket.capacity, bucket.perMinute, taken.remaining[0]!),
            },
          );
        },

        async responseForOperation(rc) {
          if (state.cached) {
            state.cached.http.headers.set('x-served-from-cache', 'true');
            return state.cached;
          }
          if (state.price?.dryRun) return dryRunResponse(rc, state.price);
          return null;
        },

        async willSendResponse(rc) {
          const price = state.price;
          const bucket = state.budget;
          if (!price || !bucket || state.remaining === undefined) return;
          // Everything up to the refund call is synchronous on purpose: plugins' willSendResponse
          // hooks run concurrently and the cache plugin rebuilds the body from this same
          // singleResult, so extensions must be on it before anything awaits.
          let actual = 0;
          const body = rc.response.body;
          if (state.charged && body.kind === 'single') {
            const report = cache?.cacheReportFor?.(rc.contextValue);
            const cachedRootKeys = report ? new Set([...report].filter(([, v]) => v?.hit).map(([k]) => k)) : undefined;
            actual = Math.min(
              price.cost,
              price.variables ? actualCost(rulesFor(rc.schema), { ...price, variables: price.variables, data: body.singleResult.data as never, cachedRootKeys }) : 0,
            );
          }
          const refund = state.charged ? price.cost - actual : 0;
          const throttle = throttleStatusOf(bucket.capacity, bucket.perMinute, Math.min(bucket.capacity, state.remaining + refund));
          for (const [k, v] of Object.entries(rateLimitHeaders(throttle, bucket.perMinute))) rc.response.http.headers.set(k, v);
          if (state.retryAfter !== undefined && !state.cached) rc.response.http.headers.set('retry-after', String(state.retryAfter));
          if (body.kind === 'single') {
            body.singleResult.extensions = {
              ...body.singleResult.extensions,
              cost: { requestedQueryCost: price.cost, actualQueryCost: actual, throttleStatus: throttle },
            };
          }
          // Not awaited: the response does not wait for the refund's round trip (the numbers above
          // already include it); a refund lost to a Redis failure only makes the budget stricter.
          if (refund > 0) store.refund(bucket, refund, state.store).catch((err) => opts.logger?.warn({ err }, 'refund failed'));
        },
      };
    },
  };
}

/** rateLimit(dryRun: true): run only the document's rateLimit fields; nothing else executes. */
async function dryRunResponse(rc: GraphQLRequestContext<any>, price: OperationPrice): Promise<GraphQLResponse> {
  const onlyRateLimit: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        ...price.operation,
        selectionSet: {
          ...price.operation.selectionSet,
          selections: price.operation.selectionSet.selections.filter((s) => s.kind === Kind.FIELD && s.name.value === 'rateLimit'),
        },
      },
      ...Object.values(price.fragments),
    ],
  };
  const result = await execute({
    schema: rc.schema,
    document: onlyRateLimit,
    contextValue: rc.contextValue,
    variableValues: rc.request.variables,
  });
  return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: result as never } };
}
