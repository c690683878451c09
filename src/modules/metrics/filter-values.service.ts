import type { RequestContext } from '../../context';
import { badInput } from '../../shared/errors';
import type { TraceFilterInput } from '../../query/trace-filter-input';
import type { Dimension } from '../../query/dimensions';
import type { RangeInput } from '../../shared/time-range';
import { resolveReportArgs } from '../../query/report-args';
import { computeTraceStats, type TraceStatsResult } from '../../query/trace-stats';

export interface FilterValuesParent {
  dimension: Dimension;
  from: Date;
  to: Date;
  values: { value: string; requestCount: number }[];
  hasMore: boolean;
  plan: Pick<TraceStatsResult, 'pieces' | 'percentileMethod'>;
}

export const MAX_FILTER_VALUES = 1000;

/**
 * A dimension's values over a range with their request counts: one grouped sum over the same
 * source plan as the reports (rollups for their key dimensions, per-user rollups for USER, raw
 * rows for the rest), so a picker costs what a one-dimension report costs.
 */
export async function filterValues(
  ctx: RequestContext,
  args: { dimension: Dimension; range: RangeInput; filter?: TraceFilterInput | null; first?: number | null },
): Promise<FilterValuesParent> {
  const first = args.first ?? 100;
  if (!Number.isInteger(first) || first < 1 || first > MAX_FILTER_VALUES) {
    throw badInput(`first must be between 1 and ${MAX_FILTER_VALUES}`, { argument: 'first', max: MAX_FILTER_VALUES });
  }
  const a = resolveReportArgs({ range: args.range, filter: args.filter, groupBy: [args.dimension] }, ctx.services.config);
  const res = await computeTraceStats(ctx.services, ctx.scope, {
    from: a.from,
    to: a.to,
    filter: a.filter,
    dims: [args.dimension],
    interval: null,
    percentiles: false,
    // One more than asked tells hasMore; one more again for the group of calls without a value.
    groupLimit: first + 2,
  });
  const values = res.groups
    .filter((g) => g.values[0] != null)
    .map((g) => ({ value: g.values[0] as string, requestCount: g.acc.n }));
  return { dimension: args.dimension, from: a.from, to: a.to, values: values.slice(0, first), hasMore: values.length > first, plan: res };
}
