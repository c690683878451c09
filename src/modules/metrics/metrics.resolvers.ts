import type { Resolvers } from '../../__generated__/resolvers-types';
import { latencyPercentiles, otherGroup, type GroupStats, type StatsAcc } from '../../query/trace-stats';
import type { StatsReportParent } from './metrics.mappers';
import { costReport, monthToDate, previousPeriod, topSpenders } from './costs.service';
import { performanceReport } from './performance.service';
import { compareModels } from './compare-models.service';
import { usdNumber } from '../../shared/money';
import { filterValues } from './filter-values.service';
import {
  PERCENTILE_FIELDS,
  comparisonColumnsOf,
  costColumnsOf,
  percentileLevelsOf,
  performanceColumnsOf,
  selectsAnyField,
  selectsAnyFieldUnder,
  selectsGroupSeries,
  selectsPath,
  selectsSeries,
} from '../../graphql/selection';
import { avgLatencyMs, costPer1kTokensUsd, costPerRequestUsd, errorRate, tokensPerSecond, ttftAvgMs } from '../../query/derived-stats';

const percentileCache = new WeakMap<StatsAcc, ReturnType<typeof latencyPercentiles>>();
const percentilesOf = (a: StatsAcc) => {
  let p = percentileCache.get(a);
  if (!p) percentileCache.set(a, (p = latencyPercentiles(a)));
  return p;
};

// Merged once per report, whichever of its fields ask.
const others = new WeakMap<StatsReportParent, GroupStats | null>();
const otherOf = (r: StatsReportParent) => {
  if (!others.has(r)) others.set(r, otherGroup(r, r.dims));
  return others.get(r) ?? null;
};

export const metricsResolvers: Resolvers = {
  Query: {
    performance: (_p, args, ctx, info) =>
      performanceReport(ctx, args, {
        percentiles: selectsAnyField(info, PERCENTILE_FIELDS),
        percentileLevels: percentileLevelsOf(info),
        columns: performanceColumnsOf(info),
        series: selectsSeries(info),
        groupSeries: selectsGroupSeries(info),
        otherPercentiles: selectsAnyFieldUnder(info, ['other'], PERCENTILE_FIELDS),
      }),
    costs: (_p, args, ctx, info) => costReport(ctx, args, { columns: costColumnsOf(info), series: selectsSeries(info), groupSeries: selectsGroupSeries(info) }),
    compareModels: (_p, args, ctx, info) =>
      compareModels(ctx, args, {
        percentiles: selectsAnyField(info, PERCENTILE_FIELDS),
        quality: selectsPath(info, ['models', 'quality']),
        columns: comparisonColumnsOf(info),
      }),
    filterValues: (_p, args, ctx) => filterValues(ctx, args),
  },
  FilterValues: {
    plan: (r) => r.plan,
  },
  PerformanceReport: {
    plan: (r) => r,
    other: (r) => otherOf(r),
  },
  CostReport: {
    plan: (r) => r,
    previousPeriod: (r, _a, ctx) => previousPeriod(ctx, r),
    changeRatio: async (r, _a, ctx) => {
      const prev = await previousPeriod(ctx, r);
      // The difference is exact (units); only the ratio is a float.
      return prev.totalCost > 0n ? Number(r.totals.totalCost - prev.totalCost) / Number(prev.totalCost) : null;
    },
    monthToDate: (r, _a, ctx) => monthToDate(ctx, r),
    topSpenders: (r, args, ctx) => topSpenders(ctx, r, args.by, args.limit),
    other: (r) => otherOf(r),
  },
  QueryPlan: {
    sources: (p) => p.pieces.map((s) => ({ source: s.source, from: s.from, to: s.to })),
    percentiles: (p) => p.percentileMethod,
    rawReason: (p) => p.rawReason ?? null,
  },
  PerformanceStats: {
    requestCount: (a) => a.n,
    errorCount: (a) => a.errors,
    errorRate: (a) => errorRate(a) ?? 0,
    latency: (a) => a,
    ttftAvgMs: (a) => ttftAvgMs(a),
    ttftMinMs: (a) => a.ttftMin,
    ttftMaxMs: (a) => a.ttftMax,
    tokensPerSecond: (a) => tokensPerSecond(a),
    promptTokens: (a) => a.promptTokens,
    completionTokens: (a) => a.completionTokens,
    totalTokens: (a) => a.totalTokens,
  },
  LatencyStats: {
    avgMs: (a) => avgLatencyMs(a),
    p50Ms: (a) => percentilesOf(a).p50,
    p90Ms: (a) => percentilesOf(a).p90,
    p95Ms: (a) => percentilesOf(a).p95,
    p99Ms: (a) => percentilesOf(a).p99,
    minMs: (a) => a.durMin,
    maxMs: (a) => a.durMax,
  },
  CostStats: {
    totalUsd: (a) => usdNumber(a.totalCost),
    promptUsd: (a) => usdNumber(a.promptCost),
    completionUsd: (a) => usdNumber(a.completionCost),
    requestCount: (a) => a.n,
    promptTokens: (a) => a.promptTokens,
    completionTokens: (a) => a.completionTokens,
    cachedTokens: (a) => a.cachedTokens,
    totalTokens: (a) => a.totalTokens,
    costPerRequestUsd: (a) => costPerRequestUsd(a),
    costPer1kTokensUsd: (a) => costPer1kTokensUsd(a),
  },
  PerformancePoint: { stats: (p) => p.acc },
  CostPoint: { stats: (p) => p.acc },
  PerformanceGroup: { stats: (g) => g.acc },
  CostGroup: { stats: (g) => g.acc },
};
