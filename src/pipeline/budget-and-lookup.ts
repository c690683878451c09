import type { RequestContext } from '../context';
import type { FieldCache } from '../cache/field-cache';
import type { CachedField } from '../cache/entry-codec';
import type { Fill } from '../cache/single-flight';
import { cacheBypassTotal } from '../cache/cache-metrics';
import type { GatewayLimits } from '../limits';
import type { TakeResult } from '../limits/budget-store';
import { budgetBucketOf, chargePlanOf, rateLimited, snapshotOf } from '../limits/charge';
import { CACHED_FIELD_COST } from '../limits/cost-rules';
import type { Config } from '../config';
import { rateLimitExceededTotal, rateLimitRemaining } from '../telemetry/metrics';
import type { HitSource, OperationRecord } from './operation-record';

export interface BudgetAndLookupDeps {
  readonly config: Pick<Config, 'limits' | 'redisKeyPrefix'>;
  readonly limits?: GatewayLimits;
  readonly cache?: FieldCache;
  readonly metrics: boolean;
}

const NOTHING = new Map<string, CachedField>();

/**
 * Stages "budget" and "cache plan and lookup", in one Redis round trip.
 *
 * 1. This instance's L1 copies of the operation's cache keys (no I/O).
 * 2. The budget take — the estimate, or the cached cost when the L1 already holds every field
 *    of an all-cacheable operation (nothing will run; no refund to send later) — and the store
 *    read of the remaining keys are issued in the same turn of the event loop: the Redis
 *    client writes the script and the reads to the socket together.
 * 3. Refused (429) unless every field was found: then the cached answer is sent instead.
 * 4. Keys found nowhere: wait for fills already in flight on this instance, claim the rest.
 */
export async function takeBudgetAndLookUp(ctx: RequestContext, record: OperationRecord, debug: boolean, deps: BudgetAndLookupDeps): Promise<void> {
  const compiled = record.compiled!;
  const price = record.price;
  const viewer = ctx.viewer;
  const plan = deps.cache ? compiled.cachePlan : null;
  const cacheable = plan && !price?.dryRun ? plan.fields.filter((f) => f.cache) : [];
  const keys = [...new Set(cacheable.map((f) => f.cache!.key))];
  const cache = keys.length ? deps.cache : undefined;
  const usable = cache?.store.usable() ?? false;
  if (cache && !usable) cacheBypassTotal.inc({ reason: 'redis_down' }, cacheable.length);

  const local = cache && usable ? cache.localHits(keys) : NOTHING;
  const allLocal = keys.length > 0 && local.size === keys.length;
  const toFetch = usable && !allLocal ? keys.filter((k) => !local.has(k)) : [];

  const limits = deps.limits;
  const charging = limits && price && !viewer.internal ? limits : undefined;
  const points = allLocal && plan!.allCacheable ? plan!.fields.length * CACHED_FIELD_COST : (price?.cost ?? 0);
  const charge = charging && price ? chargePlanOf(deps.config, viewer, price, points) : undefined;
  const [taken, fetched] = await Promise.all([
    charge ? charging!.store.take(charge.buckets, charge.costs) : undefined,
    toFetch.length ? cache!.fetch(toFetch) : NOTHING,
  ]);
  const found = new Map<string, CachedField>([...local, ...fetched]);

  if (taken && charge && price) {
    const bucket = budgetBucketOf(deps.config, viewer);
    const base = { bucket, store: taken.store, remaining: taken.remaining[0]!, snapshot: snapshotOf(deps.config, viewer, price, bucket, taken) };
    if (!taken.allowed) {
      if (deps.metrics) rateLimitExceededTotal.inc({ role: viewer.role });
      const refusal = rateLimited(charge, taken, price);
      record.budget = { ...base, charged: 0, retryAfter: refusal.retryAfter };
      // Graceful degradation: a refused operation whose every field is cached is answered from cache.
      if (plan?.allCacheable && cacheable.length && keys.every((k) => found.has(k))) {
        record.cache = outcome(cacheable, found, new Map(), false, debug, allLocal, debug ? sourcesOf(local, fetched) : undefined);
        record.answer = 'cache-after-refusal';
        cache!.count(lookupsOf(cacheable), () => true);
        return;
      }
      throw refusal.error;
    }
    if (deps.metrics) rateLimitRemaining.observe({ role: viewer.role }, Math.max(0, taken.remaining[0]!));
    record.budget = { ...base, charged: chargedPoints(taken, charge.costs) };
  }

  if (!cache || !cacheable.length) return;
  if (!usable) {
    record.cache = outcome(cacheable, NOTHING, new Map(), true, debug, false);
    return;
  }
  const claimed = await cache.claim(keys.filter((k) => !found.has(k)));
  for (const [k, v] of claimed.found) found.set(k, v);
  cache.count(lookupsOf(cacheable), (k) => found.has(k));
  record.cache = outcome(cacheable, found, claimed.fills, false, debug, allLocal, debug ? sourcesOf(local, fetched, claimed.found) : undefined);
}

/** By cache key: where each entry was found (x-cache-debug only). */
function sourcesOf(...maps: ReadonlyMap<string, unknown>[]): Map<string, HitSource> {
  const names: HitSource[] = ['l1', 'store', 'fill'];
  const out = new Map<string, HitSource>();
  maps.forEach((m, i) => {
    for (const k of m.keys()) if (!out.has(k)) out.set(k, names[i]!);
  });
  return out;
}

const chargedPoints = (taken: TakeResult, costs: readonly number[]) => (taken.allowed ? costs[0]! : 0);

const lookupsOf = (fields: ReadonlyArray<{ fieldName: string; cache?: { key: string } }>) => fields.map((f) => ({ key: f.cache!.key, resource: f.fieldName }));

function outcome(
  cacheable: ReadonlyArray<{ responseKey: string; cache?: { key: string } }>,
  found: ReadonlyMap<string, CachedField>,
  fills: Map<string, Fill<CachedField>>,
  bypassed: boolean,
  debug: boolean,
  allLocal: boolean,
  sourcesByKey?: ReadonlyMap<string, HitSource>,
): NonNullable<OperationRecord['cache']> {
  const hits = new Map<string, CachedField>();
  const sources = sourcesByKey ? new Map<string, HitSource>() : undefined;
  for (const f of cacheable) {
    const v = found.get(f.cache!.key);
    if (!v) continue;
    hits.set(f.responseKey, v);
    sources?.set(f.responseKey, sourcesByKey!.get(f.cache!.key) ?? 'store');
  }
  return { hits, fills, bypassed, debug, allLocal, sources };
}
