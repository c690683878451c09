import { CostEstimatorRegistry } from '../../../src/limits/cost-estimators';
import { createCostEstimators } from '../../../src/cost-estimators';
import { loadConfig } from '../../../src/config';

describe('cost estimator registry', () => {
  it('looks estimators up by type and field, and refuses a second one for a field', () => {
    const registry = new CostEstimatorRegistry().register('Query.a', () => 7);
    expect(registry.lookup('Query', 'a')?.({})).toBe(7);
    expect(registry.lookup('Query', 'b')).toBeUndefined();
    expect(() => registry.register('Query.a', () => 1)).toThrow(/already registered/);
  });

  it('composes the analytics fields the modules price by their work', () => {
    expect(createCostEstimators(loadConfig({})).coordinates().sort()).toEqual(['Query.compareModels', 'Query.costs', 'Query.filterValues', 'Query.performance', 'Query.quality']);
  });
});
