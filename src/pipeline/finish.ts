import type { GraphQLRequestContext } from '@apollo/server';
import type { RequestContext } from '../context';
import type { GatewayLimits } from '../limits';
import { actualCost } from '../limits/actual-cost';
import { CACHED_FIELD_COST } from '../limits/cost-rules';
import { rateLimitHeaders, throttleStatusOf } from '../limits/rate-limit-headers';
import type { OperationRecord } from './operation-record';

type Rc = GraphQLRequestContext<RequestContext>;

/**
 * Stage "actual cost and refund": what really ran, by the pricing rules over the rows really
 * returned (cached root fields cost 1 each); estimate − actual goes back to the bucket through
 * the coalescing refund queue. A refused or dry-run operation was charged nothing.
 */
export function settleCost(rc: Rc, record: OperationRecord, limits: GatewayLimits): void {
  const budget = record.budget;
  const price = record.price;
  if (!budget || !price) return;
  let actual = 0;
  if (budget.charged > 0) {
    const cachedRootKeys = new Set(record.cache?.hits.keys() ?? []);
    actual =
      record.answer === 'cache'
        ? cachedRootKeys.size * CACHED_FIELD_COST
        : price.variables
          ? actualCost(limits.rulesFor(rc.schema), { ...price, variables: price.variables, data: record.executed as never, cachedRootKeys, refusedRootKeys: refusedRootKeysOf(rc) })
          : 0;
    actual = Math.min(price.cost, actual);
  }
  const refund = Math.max(0, budget.charged - actual);
  if (refund > 0) limits.refunds.add(budget.bucket, refund, budget.store);
  record.cost = { requested: price.cost, actual, refund };
}

/** Codes of errors thrown before a root field did any work: it is not charged. */
const REFUSED_CODES = new Set(['FORBIDDEN', 'BAD_USER_INPUT']);

/** Root fields that failed alone with a refusal at their own path (nullable root fields). */
function refusedRootKeysOf(rc: Rc): ReadonlySet<string> {
  const body = rc.response.body;
  const errors = body?.kind === 'single' ? (body.singleResult.errors ?? []) : [];
  const out = new Set<string>();
  for (const e of errors) {
    if (e.path?.length === 1 && typeof e.path[0] === 'string' && REFUSED_CODES.has(String(e.extensions?.code))) out.add(e.path[0]);
  }
  return out;
}

/**
 * Stage "headers and extensions": RateLimit fields, Retry-After, extensions.cost (balance after
 * the refund), extensions.cache under x-cache-debug, and the HTTP caching headers: GET queries
 * whose every root field is cacheable and that answered without errors may be kept privately
 * for their smallest TTL; everything else is no-store. Always `private` and Vary on the
 * credentials: every answer belongs to one tenant.
 */
export function writeHeadersAndExtensions(rc: Rc, record: OperationRecord, limits: GatewayLimits | undefined): void {
  const headers = rc.response.http.headers;
  const body = rc.response.body;
  const single = body?.kind === 'single' ? body.singleResult : undefined;
  const extensions: Record<string, unknown> = {};

  const budget = record.budget;
  if (budget && record.price && limits) {
    const refund = record.cost?.refund ?? 0;
    const throttle = throttleStatusOf(budget.bucket.capacity, budget.bucket.perMinute, Math.min(budget.bucket.capacity, budget.remaining + refund));
    for (const [k, v] of Object.entries(rateLimitHeaders(throttle, budget.bucket.perMinute, limits.headerFormat))) headers.set(k, v);
    if (budget.retryAfter !== undefined && record.answer !== 'cache-after-refusal') headers.set('retry-after', String(budget.retryAfter));
    extensions.cost = { requestedQueryCost: record.price.cost, actualQueryCost: record.cost?.actual ?? 0, throttleStatus: throttle };
  }

  const cache = record.cache;
  const plan = record.compiled?.cachePlan;
  if (cache?.debug && plan) {
    const now = Date.now();
    extensions.cache = Object.fromEntries(
      plan.fields.map((f) => {
        const hit = cache.hits.get(f.responseKey);
        if (!f.cache) return [f.responseKey, { hit: false, ageSeconds: 0, ttlSeconds: 0 }];
        if (!hit) return [f.responseKey, { hit: false, ageSeconds: 0, ttlSeconds: f.cache.ttlSeconds }];
        const age = Math.max(0, Math.round((now - hit.storedAt) / 100) / 10);
        return [f.responseKey, { hit: true, ageSeconds: age, ttlSeconds: hit.ttlSeconds, from: cache.sources?.get(f.responseKey) ?? 'store' }];
      }),
    );
  }

  if (single && (extensions.cost || extensions.cache)) {
    rc.response.body = { kind: 'single', singleResult: { ...single, extensions: { ...single.extensions, ...extensions } } };
  }

  headers.set('vary', 'Authorization, X-Api-Key');
  const compiled = record.compiled;
  const maxAge =
    compiled && single && !single.errors?.length && rc.request.http?.method === 'GET' && compiled.operation.operation === 'query' ? compiled.maxAge : 0;
  headers.set('cache-control', maxAge > 0 ? `private, max-age=${maxAge}` : 'no-store');
}
