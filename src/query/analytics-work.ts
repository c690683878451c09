import type { Config } from '../config';
import type { AnyRollupName } from '../db/schema';
import { PRICING_RANGE_END, type FieldCostEstimator } from '../limits/cost-estimators';
import { parseRelativeDuration } from '../shared/time-range';
import { resolveTimeZone } from './calendar-buckets';
import { traceRollupFamily, type Dimension } from './dimensions';
import { chooseInterval, pointCount, type Interval, type IntervalInput } from './intervals';
import { familyLevels, pickSources } from './source-plan';

/** What pricing needs of the configuration; the CLI builds it from defaults without a database. */
export interface AnalyticsPricingSettings {
  readonly retentionDays: number;
  readonly maxSeriesPoints: number;
  readonly exactPercentilesMaxMs: number;
  readonly useRollups: boolean;
}

export const analyticsSettingsFrom = (config: Pick<Config, 'analytics' | 'database'>): AnalyticsPricingSettings => ({
  retentionDays: config.database.retentionDays,
  maxSeriesPoints: config.analytics.maxSeriesPoints,
  exactPercentilesMaxMs: config.analytics.exactPercentilesMaxMs,
  useRollups: config.analytics.useRollups,
});

/** Rows a rollup holds per bucket (project × provider × model × environment keys), a raw minute's traces. */
const ROLLUP_ROWS_PER_BUCKET = 20;
/** Rows a per-user rollup holds per bucket (project × active user): sized for a busy org, not the average. */
const USER_ROLLUP_ROWS_PER_BUCKET = 1000;
const RAW_ROWS_PER_MINUTE = 50;
/** Expected distinct values per dimension, for sizing grouped answers. */
const EXPECTED_CARDINALITY: Record<Dimension, number> = { MODEL: 12, PROVIDER: 4, PROJECT: 5, ENVIRONMENT: 3, USER: 100, STATUS: 2, OPERATION: 6, ERROR_TYPE: 8 };
/** Rows read or produced per point. */
export const ROWS_PER_POINT = 1000;

export interface AnalyticsWorkArgs {
  range?: { from?: Date | string | null; to?: Date | string | null; last?: string | null } | null;
  filter?: Record<string, unknown> | null;
  groupBy?: readonly string[] | null;
  interval?: string | null;
  groupLimit?: number | null;
  /** The report's time zone (calendar buckets in a zone read finer rollups). */
  timeZone?: string | null;
  /** Groups known from the arguments (compareModels: the models asked for). */
  groups?: number;
  percentiles: boolean;
}

export interface AnalyticsWork {
  points: number;
  /** Pieces of the source plan assumed (rollups fresh up to the range end). */
  sources: { source: AnyRollupName | 'traces'; from: Date; to: Date }[];
}

const toDate = (v: Date | string | null | undefined) => (v == null ? null : v instanceof Date ? v : new Date(v));

/** The range a report is priced over (relative ranges end at PRICING_RANGE_END), clamped to retention; null when invalid. */
function pricedRange(range: AnalyticsWorkArgs['range'], settings: AnalyticsPricingSettings): { from: Date; to: Date } | null {
  let from: Date | null;
  let to: Date | null;
  try {
    if (range?.last != null) {
      const span = Math.min(parseRelativeDuration(range.last), (settings.retentionDays + 1) * 86_400_000);
      to = PRICING_RANGE_END;
      from = new Date(to.getTime() - span);
    } else {
      from = toDate(range?.from);
      to = toDate(range?.to);
    }
  } catch {
    return null;
  }
  if (!from || !to || Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to) return null;
  if (to.getTime() - from.getTime() > (settings.retentionDays + 2) * 86_400_000) {
    from = new Date(to.getTime() - (settings.retentionDays + 2) * 86_400_000);
  }
  return { from, to };
}

/** The zone and series interval the report would use; null when either is invalid (the resolver refuses them). */
function pricedBuckets(args: AnalyticsWorkArgs, from: Date, to: Date, settings: AnalyticsPricingSettings): { timeZone: string; interval: Interval | null } | null {
  try {
    const timeZone = resolveTimeZone(args.timeZone);
    const interval = args.interval ? chooseInterval(from, to, args.interval as IntervalInput, settings.maxSeriesPoints, timeZone) : null;
    return { timeZone, interval };
  } catch {
    return null;
  }
}

/** Rows the source plan scans: rollup buckets, raw minutes' traces. */
function rowsScanned(sources: AnalyticsWork['sources'], stepMs: ReadonlyMap<string, number>): number {
  let rows = 0;
  for (const p of sources) {
    const ms = p.to.getTime() - p.from.getTime();
    if (p.source === 'traces') rows += (ms / 60_000) * RAW_ROWS_PER_MINUTE;
    else rows += Math.ceil(ms / (stepMs.get(p.source) as number)) * (p.source.startsWith('traces_user_') ? USER_ROLLUP_ROWS_PER_BUCKET : ROLLUP_ROWS_PER_BUCKET);
  }
  return rows;
}

const MINIMUM_WORK: AnalyticsWork = { points: 1, sources: [] };

/**
 * The work an analytics report implies: rows scanned per source (coarse rollups are cheap, raw
 * minutes are not), exact-percentile scans, and the size of the answer (series points × groups).
 * Pure: the same source plan as the resolvers (pickSources) with rollups assumed fresh.
 * Invalid arguments get the minimum price; the resolver refuses them before any work.
 */
export function estimateAnalyticsWork(args: AnalyticsWorkArgs, settings: AnalyticsPricingSettings): AnalyticsWork {
  const range = pricedRange(args.range, settings);
  if (!range) return { ...MINIMUM_WORK, sources: [] };
  const { from, to } = range;
  const buckets = pricedBuckets(args, from, to, settings);
  if (!buckets) return { ...MINIMUM_WORK, sources: [] };
  const { timeZone, interval } = buckets;
  const dims = (args.groupBy ?? []).filter((d): d is Dimension => d in EXPECTED_CARDINALITY);
  const filterKeys = Object.fromEntries(Object.entries(args.filter ?? {}).filter(([, v]) => v != null && !(Array.isArray(v) && v.length === 0)));
  // The planner's own choice of rollup family: per-user groupings read the traces_user_* rollups.
  const family = settings.useRollups ? traceRollupFamily(filterKeys as Parameters<typeof traceRollupFamily>[0], dims) : null;
  const levels = family ? familyLevels(family) : [];
  const fresh = Object.fromEntries(levels.map((l) => [l.name, to]));
  const sources = pickSources({ from, to, interval, rollups: family !== null, watermarks: fresh, levels: family ? levels : undefined, timeZone });

  let rows = rowsScanned(sources, new Map(levels.map((l) => [l.name, l.stepMs])));
  const span = to.getTime() - from.getTime();
  const allRaw = sources.every((p) => p.source === 'traces');
  // Exact percentiles read the raw rows again (percentile_disc), on top of the sums.
  if (args.percentiles && !allRaw && span <= settings.exactPercentilesMaxMs) rows += (span / 60_000) * RAW_ROWS_PER_MINUTE;

  const limit = args.groupLimit ?? 100;
  const groups = args.groups ?? (dims.length ? Math.min(limit, dims.reduce((n, d) => n * EXPECTED_CARDINALITY[d], 1)) : 0);
  const seriesPoints = interval ? pointCount(from, to, interval, timeZone) : 0;
  rows += (seriesPoints + 1) * (groups + 1);
  return { points: Math.max(1, Math.ceil(rows / ROWS_PER_POINT)), sources };
}

/** How a report field's arguments map onto the work estimate. */
export interface ReportPricing {
  /** The report reads latency percentiles (exact ones rescan raw rows). */
  readonly percentiles: boolean;
  /** A list argument whose length is the number of groups (compareModels: models). */
  readonly groupsFrom?: string;
  /** A one-dimension report: the dimension argument instead of groupBy (filterValues). */
  readonly dimensionFrom?: string;
  /** The argument that bounds the groups, instead of groupLimit. */
  readonly groupLimitFrom?: string;
}

/** The estimator (points) of a report field, over the field's raw GraphQL arguments. */
export function reportCostEstimator(spec: ReportPricing, settings: AnalyticsPricingSettings): FieldCostEstimator {
  return (args) => {
    const groups = spec.groupsFrom && Array.isArray(args[spec.groupsFrom]) ? (args[spec.groupsFrom] as unknown[]).length : undefined;
    const dimension = spec.dimensionFrom ? args[spec.dimensionFrom] : undefined;
    return estimateAnalyticsWork(
      {
        range: args.range as AnalyticsWorkArgs['range'],
        filter: args.filter as Record<string, unknown> | null,
        groupBy: spec.dimensionFrom ? (typeof dimension === 'string' ? [dimension] : null) : (args.groupBy as string[] | null),
        interval: args.interval as string | null,
        groupLimit: (spec.groupLimitFrom ? args[spec.groupLimitFrom] : args.groupLimit) as number | null,
        timeZone: typeof args.timeZone === 'string' ? args.timeZone : null,
        groups,
        // Ordering groups by a percentile reads the histograms even where none is selected (costs).
        percentiles: spec.percentiles || /^P\d\d_LATENCY$/.test(String((args.groupOrder as { field?: unknown } | null)?.field ?? '')),
      },
      settings,
    ).points;
  };
}
