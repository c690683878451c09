import type { LimitStoreMode } from './budget-store';

/** What the rate-limit plugin learnt about the current request; read by the rateLimit resolver. */
export interface RateLimitSnapshot {
  readonly dryRun: boolean;
  readonly requestedQueryCost: number;
  readonly maximumAvailable: number;
  readonly currentlyAvailable: number;
  readonly restoreRate: number;
  readonly limitPerMinute: number;
  readonly maxCostPerOperation: number;
  readonly store: LimitStoreMode;
}

// Keyed by the request context object, which resolvers never mutate.
const snapshots = new WeakMap<object, RateLimitSnapshot>();

export const recordRateLimit = (contextValue: object, s: RateLimitSnapshot) => snapshots.set(contextValue, s);
export const rateLimitSnapshotOf = (contextValue: object): RateLimitSnapshot | undefined => snapshots.get(contextValue);
