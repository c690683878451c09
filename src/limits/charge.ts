import type { Config } from '../config';
import { subjectOf, type Viewer } from '../auth/viewer';
import { AppError, ErrorCode } from '../shared/errors';
import type { BucketSpec, LimitStoreMode, TakeResult } from './budget-store';
import type { OperationPrice } from './pricing';
import { retryAfterSeconds, throttleStatusOf, type ThrottleStatus } from './rate-limit-headers';

/**
 * What the budget stage decides for one operation, as pure functions of the configuration, the
 * viewer, the price and the store's answer: which buckets to charge and how much, what to
 * refuse with, and the snapshot the `rateLimit` field and the headers report.
 */

/** Where the caller stands, as the `rateLimit` field reports it. */
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

type LimitsConfig = Pick<Config, 'limits' | 'redisKeyPrefix'>;

/** Bucket keys: one hash tag per org and subject, so a request's buckets share a cluster slot. */
export function bucketKeys(prefix: string, viewer: Viewer) {
  const tag = `${prefix}rl:{${viewer.orgId}:${subjectOf(viewer)}}`;
  return { budget: `${tag}:budget`, field: (name: string) => `${tag}:field:${name}` };
}

export const budgetBucketOf = (config: LimitsConfig, viewer: Viewer): BucketSpec => {
  const budget = config.limits.budgets[viewer.role];
  return { key: bucketKeys(config.redisKeyPrefix, viewer).budget, capacity: budget.burst, perMinute: budget.perMinute };
};

/** The most one operation may cost for this role (never above the role's burst). */
export const maxCostForRole = (config: Pick<Config, 'limits'>, role: Viewer['role']): number => Math.min(config.limits.maxCostPerOperation, config.limits.budgets[role].burst);

export const maxCostFor = (config: LimitsConfig, viewer: Viewer): number => maxCostForRole(config, viewer.role);

/** The most any caller may spend on one operation: above it the server refuses every role. */
export const maxCostForAnyRole = (config: Pick<Config, 'limits'>): number =>
  Math.max(...(Object.keys(config.limits.budgets) as Viewer['role'][]).map((role) => maxCostForRole(config, role)));

export function costLimitExceeded(price: OperationPrice, maxCost: number): AppError {
  return new AppError(ErrorCode.COST_LIMIT_EXCEEDED, `The operation costs ${price.cost} points; at most ${maxCost} are allowed for one operation`, {
    limit: maxCost,
    cost: price.cost,
  });
}

export interface ChargePlan {
  readonly buckets: readonly BucketSpec[];
  readonly costs: readonly number[];
}

/**
 * The budget bucket charged `points` (the estimate, or the cached cost when every field is
 * known to be cached; 0 for a dry run), and each per-field limit charged its calls.
 */
export function chargePlanOf(config: LimitsConfig, viewer: Viewer, price: OperationPrice, points: number): ChargePlan {
  const budget = budgetBucketOf(config, viewer);
  const buckets: BucketSpec[] = [budget];
  const costs: number[] = [price.dryRun ? 0 : points];
  if (!price.dryRun) {
    const keys = bucketKeys(config.redisKeyPrefix, viewer);
    for (const [field, calls] of Object.entries(price.rootFieldCalls)) {
      const limit = config.limits.fieldLimits[field];
      if (limit === undefined) continue;
      buckets.push({ key: keys.field(field), capacity: limit, perMinute: limit });
      costs.push(calls);
    }
  }
  return { buckets, costs };
}

export function snapshotOf(config: LimitsConfig, viewer: Viewer, price: OperationPrice, budget: BucketSpec, taken: TakeResult): RateLimitSnapshot {
  return {
    dryRun: price.dryRun,
    requestedQueryCost: price.cost,
    ...throttleStatusOf(budget.capacity, budget.perMinute, taken.remaining[0]!),
    limitPerMinute: budget.perMinute,
    maxCostPerOperation: maxCostFor(config, viewer),
    store: taken.store,
  };
}

/** 429 RATE_LIMITED for the first bucket that lacked points; its Retry-After in seconds. */
export function rateLimited(plan: ChargePlan, taken: TakeResult, price: OperationPrice): { error: AppError; retryAfter: number } {
  const short = plan.buckets[taken.failed]!;
  const budget = plan.buckets[0]!;
  const retryAfter = retryAfterSeconds(plan.costs[taken.failed]!, taken.remaining[taken.failed]!, short.perMinute);
  const field = taken.failed > 0 ? short.key.slice(short.key.lastIndexOf(':') + 1) : undefined;
  const throttleStatus: ThrottleStatus = throttleStatusOf(budget.capacity, budget.perMinute, taken.remaining[0]!);
  const error = new AppError(
    ErrorCode.RATE_LIMITED,
    field
      ? `${field} may be called ${short.perMinute} times per minute; retry in ${retryAfter} s`
      : `The operation costs ${price.cost} points and ${Math.floor(taken.remaining[0]!)} are left; retry in ${retryAfter} s`,
    { cost: price.cost, retryAfter, ...(field ? { field, limitPerMinute: short.perMinute } : {}), throttleStatus },
  );
  return { error, retryAfter };
}
