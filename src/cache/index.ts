/**
 * The per-field cache. For the rate limiter (src/limits): `answerFromCache` answers a request
 * whose every root field is cached (graceful degradation), `cacheReportFor` says which root
 * fields of a request came from the cache (they cost less).
 */
export { answerFromCache, cacheReportFor, fieldCachePlugin, type CacheableRequest, type FieldCacheReportEntry } from './field-cache-plugin';
export { FieldCache, createFieldCache } from './field-cache';
export { httpCacheHeadersPlugin } from './http-cache-headers-plugin';
export { startCacheWarming, WARM_COSTS_QUERY, WARM_PERFORMANCE_QUERY, warmCostsVariables, type WarmingRun } from './warm';
export { cacheResolvers } from './cache.resolvers';
