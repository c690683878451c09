import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from '../telemetry/metrics';

// cache_hits_total, cache_misses_total and cache_size_bytes live in telemetry/metrics.ts; these
// two are the cache's own additions.

export const cacheBypassTotal = new Counter({
  name: 'cache_bypass_total',
  help: 'Cacheable fields answered without the cache, by reason (redis_down, store_error, too_large)',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

export const cacheEntrySizeBytes = new Histogram({
  name: 'cache_entry_size_bytes',
  help: 'Size of stored cache entries after compression, by resource',
  labelNames: ['resource'] as const,
  buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576],
  registers: [metricsRegistry],
});
