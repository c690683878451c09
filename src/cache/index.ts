/**
 * The per-field cache: the store (Redis with a per-instance L1, or memory), keys, shapes and
 * purges. The request pipeline (src/pipeline) runs its stages: lookup in the budget's round
 * trip, narrowing, storing and splicing.
 */
export { FieldCache, createFieldCache } from './field-cache';
export { startCacheWarming, WARM_COSTS_QUERY, WARM_PERFORMANCE_QUERY, warmCostsVariables, type WarmingRun } from './warm';
export { cacheResolvers } from './cache.resolvers';
