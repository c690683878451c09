import type { CostEstimatorRegistry } from '../../limits/cost-estimators';
import { reportCostEstimator, type AnalyticsPricingSettings } from '../../query/analytics-work';

/** The metrics module's root fields, priced by the work their arguments imply (analytics-work.ts). */
export function registerMetricsCostEstimators(registry: CostEstimatorRegistry, settings: AnalyticsPricingSettings): void {
  registry
    .register('Query.performance', reportCostEstimator({ percentiles: true }, settings))
    .register('Query.costs', reportCostEstimator({ percentiles: false }, settings))
    .register('Query.compareModels', reportCostEstimator({ percentiles: true, groupsFrom: 'models' }, settings))
    // filterValues is a one-dimension grouped sum with `first` groups.
    .register('Query.filterValues', reportCostEstimator({ percentiles: false, dimensionFrom: 'dimension', groupLimitFrom: 'first' }, settings));
}
