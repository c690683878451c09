import type { RequestContext } from '../../context';
import { badInput } from '../../shared/errors';
import { monthStart } from '../../query/calendar-buckets';
import type { Dimension } from '../../query/dimensions';
import type { CostReportParent } from './metrics.mappers';
import { resolveReportArgs, type ReportArgs } from '../../query/report-args';
import { BY_COST } from '../../query/group-order';
import type { StatsColumns } from '../../query/trace-stats.repository';
import { computeTraceStats, emptyAcc, type GroupStats, type StatsAcc } from '../../query/trace-stats';

export async function costReport(ctx: RequestContext, args: ReportArgs, opts: { columns?: StatsColumns; series?: boolean; groupSeries?: boolean } = {}): Promise<CostReportParent> {
  const a = resolveReportArgs(args, ctx.services.config);
  const result = await computeTraceStats(ctx.services, ctx.scope, {
    from: a.from,
    to: a.to,
    filter: a.filter,
    dims: a.dims,
    interval: a.interval,
    timeZone: a.timeZone,
    percentiles: false,
    columns: opts.columns,
    series: opts.series,
    groupSeries: opts.groupSeries,
    groupLimit: a.groupLimit,
    groupOrder: a.groupOrder ?? BY_COST,
  });
  return { ...result, scope: ctx.scope, filter: a.filter, dims: a.dims };
}

// Memoised per report object: changeRatio and previousPeriod share one computation.
const previous = new WeakMap<CostReportParent, Promise<StatsAcc>>();

export function previousPeriod(ctx: RequestContext, r: CostReportParent): Promise<StatsAcc> {
  let p = previous.get(r);
  if (!p) {
    const span = r.to.getTime() - r.from.getTime();
    const oldest = Date.now() - ctx.services.config.database.retentionDays * 86_400_000;
    const from = new Date(Math.max(r.from.getTime() - span, oldest));
    p = totalsOver(ctx, r, from, r.from);
    previous.set(r, p);
  }
  return p;
}

export function monthToDate(ctx: RequestContext, r: CostReportParent, now = new Date()): Promise<StatsAcc> {
  // The current calendar month of the report's time zone (UTC by default).
  const start = monthStart(now, r.timeZone);
  return totalsOver(ctx, r, start, now);
}

async function totalsOver(ctx: RequestContext, r: CostReportParent, from: Date, to: Date): Promise<StatsAcc> {
  if (from >= to) return emptyAcc();
  const res = await computeTraceStats(ctx.services, r.scope, { from, to, filter: r.filter, dims: [], interval: null, percentiles: false });
  return res.totals;
}

export async function topSpenders(ctx: RequestContext, r: CostReportParent, by: Dimension, limit: number): Promise<GroupStats[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badInput('limit must be between 1 and 100', { argument: 'limit' });
  const res = await computeTraceStats(ctx.services, r.scope, {
    from: r.from,
    to: r.to,
    filter: r.filter,
    dims: [by],
    interval: null,
    percentiles: false,
    groupLimit: limit,
    groupOrder: BY_COST,
  });
  return res.groups;
}
