import type { ApolloServerPlugin } from '@apollo/server';
import type { AppServices } from '../context';
import { FailoverBudgetStore } from './budget-store';
import { fieldCacheHooks } from './cache-hooks';
import { documentLimitsFrom } from './document-limits';
import { documentLimitsPlugin, parseOptionsFor } from './document-limits-plugin';
import { rateLimitPlugin } from './rate-limit-plugin';

export interface GatewayLimits {
  /** Document limits, then pricing and budgets: put them before the cache plugin. */
  readonly plugins: ApolloServerPlugin<any>[];
  /** Apollo's parseOptions: the parser stops past the token limit. */
  readonly parseOptions?: { maxTokens: number };
  /** Where budgets are kept right now (readiness detail). */
  mode(): 'redis' | 'memory' | 'disabled';
}

/** RATE_LIMIT_ENABLED=false switches off document limits, pricing and budgets (benchmarks, emergencies). */
export function createGatewayLimits(services: AppServices): GatewayLimits {
  const { config, logger } = services;
  if (!config.limits.enabled) return { plugins: [], mode: () => 'disabled' };
  const store = new FailoverBudgetStore(services.redis, {
    onFallback: (err) => logger.debug({ err }, 'rate limit: redis failed, using per-instance memory'),
  });
  const documentLimits = documentLimitsFrom(config.limits);
  return {
    parseOptions: parseOptionsFor(documentLimits),
    plugins: [
      documentLimitsPlugin(documentLimits),
      rateLimitPlugin({ config, store, cache: fieldCacheHooks, metrics: config.telemetry.metrics.enabled, logger, documentLimits }),
    ],
    mode: () => store.mode(),
  };
}
