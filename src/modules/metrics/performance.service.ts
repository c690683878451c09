import type { RequestContext } from '../../context';
import { resolveReportArgs, type ReportArgs } from '../../query/report-args';
import { computeTraceStats, type TraceStatsResult } from '../../query/trace-stats';
import { type PercentileLevels, type StatsColumns } from '../../query/trace-stats.repository';
import type { Dimension } from '../../query/dimensions';

export async function performanceReport(ctx: RequestContext, args: ReportArgs, opts: { percentiles?: boolean; percentileLevels?: PercentileLevels; columns?: StatsColumns; series?: boolean; groupSeries?: boolean; otherPercentiles?: boolean } = {}): Promise<TraceStatsResult & { dims: readonly Dimension[] }> {
  const a = resolveReportArgs(args, ctx.services.config);
  const result = await computeTraceStats(ctx.services, ctx.scope, {
    from: a.from,
    to: a.to,
    filter: a.filter,
    dims: a.dims,
    interval: a.interval,
    timeZone: a.timeZone,
    // Histogram reads are most of an aggregation's cost: only when a percentile is selected.
    percentiles: opts.percentiles ?? true,
    percentileLevels: opts.percentileLevels,
    // Only the sums the selected fields read (and the ones groupOrder ranks by: the engine adds those).
    columns: opts.columns,
    series: opts.series,
    groupSeries: opts.groupSeries,
    otherPercentiles: opts.otherPercentiles,
    groupLimit: a.groupLimit,
    groupOrder: a.groupOrder ?? undefined,
  });
  return { ...result, dims: a.dims };
}
