/**
 * Field cost estimators: the part of a root field's price that comes from the work its
 * arguments imply rather than from its selection (analytics reports). Each feature module
 * contributes the estimators of its own root fields (`<feature>/<feature>.cost.ts`);
 * src/cost-estimators.ts composes them. Limits never imports a module: it only looks up the
 * coordinate (`Query.performance`) it is pricing.
 */
export type FieldCostEstimator = (args: Record<string, unknown>) => number;

export class CostEstimatorRegistry {
  private readonly byCoordinate = new Map<string, FieldCostEstimator>();

  /** One estimator per coordinate: registering a field twice is a wiring mistake. */
  register(coordinate: string, estimator: FieldCostEstimator): this {
    if (this.byCoordinate.has(coordinate)) throw new Error(`A cost estimator for ${coordinate} is already registered`);
    this.byCoordinate.set(coordinate, estimator);
    return this;
  }

  lookup(typeName: string, fieldName: string): FieldCostEstimator | undefined {
    return this.byCoordinate.get(`${typeName}.${fieldName}`);
  }

  coordinates(): string[] {
    return [...this.byCoordinate.keys()];
  }
}

/**
 * Relative ranges are priced as if they ended at this instant (mid-hour, mid-minute), so that
 * the same document always has the same price: on the server, in the CLI, at any time of day.
 */
export const PRICING_RANGE_END = new Date(Date.UTC(2030, 0, 15, 12, 30, 30));
