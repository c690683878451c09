import type { CostEstimatorRegistry } from '../../limits/cost-estimators';
import { reportCostEstimator, type AnalyticsPricingSettings } from '../../query/analytics-work';

/** The quality report reads the same sources as the metrics reports, so it is priced the same way. */
export function registerQualityCostEstimators(registry: CostEstimatorRegistry, settings: AnalyticsPricingSettings): void {
  registry.register('Query.quality', reportCostEstimator({ percentiles: false }, settings));
}
