import type { Config } from './config';
import { CostEstimatorRegistry } from './limits/cost-estimators';
import { analyticsSettingsFrom } from './query/analytics-work';
import { registerMetricsCostEstimators } from './modules/metrics/metrics.cost';
import { registerQualityCostEstimators } from './modules/quality/quality.cost';

/**
 * Every module's field cost estimators, composed like the resolvers in schema.ts. Kept apart
 * from schema.ts so that pricing (and the cost CLI's bundle) loads no resolver or database code.
 * Traces, sessions and exports add none: their price is their selection and @listSize.
 */
export function createCostEstimators(config: Pick<Config, 'analytics' | 'database'>): CostEstimatorRegistry {
  const registry = new CostEstimatorRegistry();
  const analytics = analyticsSettingsFrom(config);
  registerMetricsCostEstimators(registry, analytics);
  registerQualityCostEstimators(registry, analytics);
  return registry;
}
