import type { Config } from '../config';
import type { AnyRollupName, RollupName } from '../db/schema';
import { rollupsCanAnswer, type Dimension } from '../modules/metrics/dimensions';
import { chooseInterval, pointCount, type Interval, type IntervalInput } from '../modules/metrics/intervals';
import { ROLLUP_STEP_MS, pickSources } from '../modules/metrics/source-plan';
import type { TraceFilter } from '../modules/traces/traces.repository';
import { parseRelativeDuration } from '../shared/time-range';
import { resolveTimeZone } from '../modules/metrics/calendar-buckets';

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

/**
 * Relative ranges are priced as if they ended at this instant (mid-hour, mid-minute), so that
 * the same document always has the same price: on the server, in the CLI, at any time of day.
 */
export const PRICING_RANGE_END = new Date(Date.UTC(2030, 0, 15, 12, 30, 30));

/** Rows a rollup holds per bucket (project × provider × model × environment keys), a raw minute's traces. */
const ROLLUP_ROWS_PER_BUCKET = 20;
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

/**
 * The work an analytics report implies: rows scanned per source (coarse rollups are cheap, raw
 * minutes are not), exact-percentile scans, and the size of the answer (series points × groups).
 * Pure: the same source plan as the resolvers (pickSources) with rollups assumed fresh.
 * Invalid arguments get the minimum price; the resolver refuses them before any work.
 */
export function estimateAnalyticsWork(args: AnalyticsWorkArgs, settings: AnalyticsPricingSettings): AnalyticsWork {
  let from: Date | null;
  let to: Date | null;
  try {
    if (args.range?.last != null) {
      const span = Math.min(parseRelativeDuration(args.range.last), (settings.retentionDays + 1) * 86_400_000);
      to = PRICING_RANGE_END;
      from = new Date(to.getTime() - span);
    } else {
      from = toDate(args.range?.from);
      to = toDate(args.range?.to);
    }
  } catch {
    return { points: 1, sources: [] };
  }
  if (!from || !to || Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to) return { points: 1, sources: [] };
  if (to.getTime() - from.getTime() > (settings.retentionDays + 2) * 86_400_000) {
    from = new Date(to.getTime() - (settings.retentionDays + 2) * 86_400_000);
  }

  let timeZone: string;
  try {
    timeZone = resolveTimeZone(args.timeZone);
  } catch {
    return { points: 1, sources: [] };
  }
  const dims = (args.groupBy ?? []).filter((d): d is Dimension => d in EXPECTED_CARDINALITY);
  let interval: Interval | null = null;
  if (args.interval) {
    try {
      interval = chooseInterval(from, to, args.interval as IntervalInput, settings.maxSeriesPoints, timeZone);
    } catch {
      return { points: 1, sources: [] };
    }
  }
  const filterKeys = Object.fromEntries(Object.entries(args.filter ?? {}).filter(([, v]) => v != null && !(Array.isArray(v) && v.length === 0)));
  const rollups = settings.useRollups && rollupsCanAnswer(filterKeys as TraceFilter, dims);
  const fresh = { traces_1min: to, traces_1hour: to, traces_1day: to };
  const sources = pickSources({ from, to, interval, rollups, watermarks: fresh, timeZone });

  let rows = 0;
  for (const p of sources) {
    const ms = p.to.getTime() - p.from.getTime();
    rows += p.source === 'traces' ? (ms / 60_000) * RAW_ROWS_PER_MINUTE : Math.ceil(ms / ROLLUP_STEP_MS[p.source as RollupName]) * ROLLUP_ROWS_PER_BUCKET;
  }
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
