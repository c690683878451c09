import type { CachedField } from '../cache/entry-codec';
import type { Fill } from '../cache/single-flight';
import type { BucketSpec, LimitStoreMode } from '../limits/budget-store';
import type { RateLimitSnapshot } from '../limits/charge';
import type { OperationPrice } from '../limits/pricing';
import type { CompiledOperation } from './compiled-operation';

/**
 * One typed record per GraphQL operation, on the request context (`contextValue.operation`).
 * The request pipeline (pipeline-plugin.ts) fills its slots in this order, each stage reading
 * only what earlier stages wrote:
 *
 *   compiled   the resolved operation: fragments, coerced variables, root fields, document-limit
 *              verdict, price and cache plan (compiled once per document, variables and scope)
 *   price      the operation's price (checked against the per-operation maximum)
 *   budget     what was taken from the caller's buckets, and where they stand
 *   cache      what the cache held and what this request must fill
 *   answer     where the response came from
 *   executed   what Apollo ran, in the request's shape (cache misses and uncached fields)
 *   cost       the actual cost and the refund
 *
 * Resolvers may read it (the `rateLimit` field reads `budget.snapshot`), never write it.
 */
export interface OperationRecord {
  compiled?: CompiledOperation;
  price?: OperationPrice;
  budget?: BudgetOutcome;
  cache?: CacheOutcome;
  answer?: Answer;
  executed?: Record<string, unknown>;
  cost?: CostOutcome;
}

export interface BudgetOutcome {
  readonly bucket: BucketSpec;
  readonly store: LimitStoreMode;
  /** Points taken from the budget bucket before anything ran (0 when refused or a dry run). */
  readonly charged: number;
  /** Points left in the budget bucket right after the take. */
  readonly remaining: number;
  readonly snapshot: RateLimitSnapshot;
  /** Set when the operation was refused (429); the response may still come from the cache. */
  readonly retryAfter?: number;
}

export interface CacheOutcome {
  /** Entries found for cacheable root fields, by response key (L1, Redis, or another request's fill). */
  readonly hits: Map<string, CachedField>;
  /** Keys this request leads the fill of: executed, stored, then released. */
  fills: Map<string, Fill<CachedField>>;
  /** The store was unusable (Redis down): nothing looked up, nothing stored. */
  readonly bypassed: boolean;
  /** `x-cache-debug: 1`: report hits per response key in extensions.cache. */
  readonly debug: boolean;
  /** With debug only: where each hit came from. */
  readonly sources?: ReadonlyMap<string, HitSource>;
  /** Every cacheable field was in this instance's L1 before the budget was taken. */
  readonly allLocal: boolean;
}

/** This instance's L1, Redis (or the in-memory store), or another request's fill on this instance. */
export type HitSource = 'l1' | 'store' | 'fill';

export type Answer =
  /** Every root field from the cache. */
  | 'cache'
  /** Refused by the budget, answered from the cache (X-Served-From-Cache). */
  | 'cache-after-refusal'
  /** rateLimit(dryRun: true): only the rateLimit fields ran. */
  | 'dry-run'
  /** Apollo executed the operation, or the fields the cache did not hold. */
  | 'execution';

export interface CostOutcome {
  readonly requested: number;
  readonly actual: number;
  readonly refund: number;
}

export const newOperationRecord = (): OperationRecord => ({});
