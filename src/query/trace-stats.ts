import type { Scope } from '../auth/viewer';
import type { Config } from '../config';
import { withStatementTimeout, type DatabaseHandle } from '../db/database';
import { cachedRollupWatermarks } from '../db/rollup-refresh';
import type { TraceFilter } from './trace-filter';
import { MAX_DIMENSIONS, groupKeyOf, rawReasonOf, traceRollupFamily, type Dimension, type GroupKeyValue } from './dimensions';
import type { Interval } from './intervals';
import { DEFAULT_TIME_ZONE, bucketSnapper, bucketStarts, isZoned } from './calendar-buckets';
import { addCell, mergeInto, percentileFromHistogram, type SparseHistogram } from './latency-histogram';
import { BY_REQUESTS, groupComparator, ordersByPercentile, type GroupOrder } from './group-order';
import { ALL_LEVELS, countLatencyCells, findExactLatencyPercentiles, sumTraceStats, type PercentileLevels, type StatsRow } from './trace-stats.sql';
import { familyLevels, pickSources, type SourcePiece } from './source-plan';
import { badInput } from '../shared/errors';
import { usdUnits, type UsdUnits } from '../shared/money';

/** Running sums for one cell of the answer (total, a group, a time bucket, or both). */
export interface StatsAcc {
  n: number;
  errors: number;
  durSum: number;
  durMin: number | null;
  durMax: number | null;
  ttftSum: number;
  ttftN: number;
  ttftMin: number | null;
  ttftMax: number | null;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  totalTokens: number;
  /** Exact money sums, in 10⁻⁸ USD units (src/shared/money.ts). */
  promptCost: UsdUnits;
  completionCost: UsdUnits;
  totalCost: UsdUnits;
  hist: SparseHistogram;
  /** Exact percentiles (EXACT_PERCENTILES order) when the whole answer came from raw rows. */
  exact: number[] | null;
}

export type PercentileMethod = 'EXACT' | 'HISTOGRAM';

export interface SeriesPoint {
  timestamp: Date;
  acc: StatsAcc;
}

export interface GroupStats {
  key: GroupKeyValue;
  values: (string | null)[];
  acc: StatsAcc;
  series: SeriesPoint[];
}

export interface TraceStatsResult {
  from: Date;
  to: Date;
  interval: Interval | null;
  /** The IANA zone of calendar buckets (UTC unless the report asked for one). */
  timeZone: string;
  pieces: SourcePiece[];
  percentileMethod: PercentileMethod;
  /** Why the whole range reads raw rows although rollups are on: the filter or dimension no rollup carries. */
  rawReason: string | null;
  totals: StatsAcc;
  groups: GroupStats[];
  series: SeriesPoint[];
  /** Groups before groupLimit was applied. */
  groupCount: number;
  /** The groups past groupLimit, merged only when `other` is selected (see otherGroup). */
  rest: readonly { acc: StatsAcc; series: Map<number, StatsAcc> }[];
}

export const emptyAcc = (): StatsAcc => ({
  n: 0,
  errors: 0,
  durSum: 0,
  durMin: null,
  durMax: null,
  ttftSum: 0,
  ttftN: 0,
  ttftMin: null,
  ttftMax: null,
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  totalTokens: 0,
  promptCost: 0n,
  completionCost: 0n,
  totalCost: 0n,
  hist: new Map(),
  exact: null,
});

const EMPTY_ACC: StatsAcc = Object.freeze({ ...emptyAcc(), hist: new Map() }) as StatsAcc;

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

function addRow(acc: StatsAcc, r: StatsRow): void {
  acc.n += r.n;
  acc.errors += r.errors;
  acc.durSum += r.dur_sum;
  acc.durMin = minOf(acc.durMin, r.dur_min);
  acc.durMax = maxOf(acc.durMax, r.dur_max);
  acc.ttftSum += r.ttft_sum ?? 0;
  acc.ttftN += r.ttft_n;
  acc.ttftMin = minOf(acc.ttftMin, r.ttft_min);
  acc.ttftMax = maxOf(acc.ttftMax, r.ttft_max);
  acc.promptTokens += r.prompt_tokens;
  acc.completionTokens += r.completion_tokens;
  acc.cachedTokens += r.cached_tokens;
  acc.totalTokens += r.total_tokens;
  acc.promptCost += usdUnits(r.prompt_cost);
  acc.completionCost += usdUnits(r.completion_cost);
  acc.totalCost += usdUnits(r.total_cost);
}

/** p50/p90/p95/p99 of an accumulator: exact when available, else from its histogram. */
export function latencyPercentiles(acc: StatsAcc): { p50: number | null; p90: number | null; p95: number | null; p99: number | null } {
  const pick = (i: number, p: number) =>
    acc.exact ? (acc.exact[i] ?? null) : percentileFromHistogram(acc.hist, p, acc.durMin, acc.durMax);
  return { p50: pick(0, 0.5), p90: pick(1, 0.9), p95: pick(2, 0.95), p99: pick(3, 0.99) };
}

export interface TraceStatsRequest {
  from: Date;
  to: Date;
  filter: TraceFilter;
  dims: readonly Dimension[];
  interval: Interval | null;
  /** IANA zone of DAY/WEEK/MONTH buckets (validated); default UTC. */
  timeZone?: string;
  percentiles: boolean;
  /** Which accumulators need histogram percentiles (default: all); others get none. */
  percentileLevels?: PercentileLevels;
  /** Keep the first groups in groupOrder; the rest are merged into `other` when asked for. */
  groupLimit?: number;
  /** Default: most requests first. */
  groupOrder?: GroupOrder;
  /** Ranges up to this long get exact percentiles from raw rows even when rollups give the sums. */
  exactPercentilesMaxMs?: number;
  /** false: read raw rows only (operators' switch, benchmarks). */
  useRollups?: boolean;
}

export async function computeTraceStats(
  deps: { database: DatabaseHandle; config: Pick<Config, 'analytics'> },
  scope: Scope,
  req: TraceStatsRequest,
): Promise<TraceStatsResult> {
  const { database } = deps;
  const exactPercentilesMaxMs = req.exactPercentilesMaxMs ?? deps.config.analytics.exactPercentilesMaxMs;
  if (req.dims.length > MAX_DIMENSIONS) throw badInput(`groupBy takes at most ${MAX_DIMENSIONS} dimensions`);
  if (new Set(req.dims).size !== req.dims.length) throw badInput('groupBy must not repeat a dimension');
  const rollupsOn = req.useRollups ?? deps.config.analytics.useRollups;
  const family = rollupsOn ? traceRollupFamily(req.filter, req.dims) : null;
  const watermarks = family ? await cachedRollupWatermarks(database) : {};
  const pieces = pickSources({
    from: req.from,
    to: req.to,
    interval: req.interval,
    rollups: family !== null,
    watermarks,
    levels: family ? familyLevels(family) : undefined,
    timeZone: req.timeZone,
  });
  const span = req.to.getTime() - req.from.getTime();
  const order = req.groupOrder ?? BY_REQUESTS;
  // Ordering by a percentile needs every group's percentiles, whether selected or not.
  const byPercentile = req.dims.length > 0 && ordersByPercentile(order);
  const percentiles = req.percentiles || byPercentile;
  const levels = byPercentile ? { ...(req.percentileLevels ?? ALL_LEVELS), group: true } : (req.percentileLevels ?? ALL_LEVELS);
  const exact =
    percentiles && (pieces.every((p) => p.source === 'traces') || span <= exactPercentilesMaxMs);

  // Histogram cells are most of an aggregation's cost. When no series point needs percentiles,
  // they do not need the series interval either: plan them over the coarsest rollups.
  const cellInterval = req.interval && (levels.series || levels.groupSeries) ? req.interval : null;
  const cellPieces =
    !percentiles || exact || cellInterval === req.interval
      ? pieces
      : pickSources({ from: req.from, to: req.to, interval: null, rollups: family !== null, watermarks, levels: family ? familyLevels(family) : undefined, timeZone: req.timeZone });

  const { rows, cells, exactRows } = await withStatementTimeout(database, database.readDb, 'aggregate', async (trx) => {
    const rows: StatsRow[] = [];
    const cells: Awaited<ReturnType<typeof countLatencyCells>> = [];
    for (const piece of pieces) {
      const q = { scope, filter: req.filter, piece, interval: req.interval, timeZone: req.timeZone, dims: req.dims };
      rows.push(...(await sumTraceStats(trx, q)));
    }
    if (percentiles && !exact) {
      for (const piece of cellPieces) {
        cells.push(...(await countLatencyCells(trx, { scope, filter: req.filter, piece, interval: cellInterval, timeZone: req.timeZone, dims: req.dims }, levels)));
      }
    }
    const exactRows =
      exact && pieces.length
        ? await findExactLatencyPercentiles(trx, {
            scope,
            filter: req.filter,
            from: req.from,
            to: req.to,
            interval: req.interval,
            timeZone: req.timeZone,
            dims: req.dims,
            levels: { time: req.interval !== null, group: req.dims.length > 0 },
          })
        : [];
    return { rows, cells, exactRows };
  });

  const totals = emptyAcc();
  const groups = new Map<string, { values: (string | null)[]; acc: StatsAcc; series: Map<number, StatsAcc> }>();
  const series = new Map<number, StatsAcc>();
  const groupKey = (r: { d0: string | null; d1: string | null; d2: string | null }) => JSON.stringify([r.d0, r.d1, r.d2]);
  // Gap-filled bucket starts; SQL's calendar buckets are matched to them (calendar-buckets.ts).
  const zone = req.timeZone ?? DEFAULT_TIME_ZONE;
  const starts = req.interval ? bucketStarts(req.from, req.to, req.interval, zone) : [];
  const snap = bucketSnapper(starts, isZoned(req.interval, zone));
  const timeOf = (t: Date | null) => (t ? snap(new Date(t).getTime()) : null);
  const cellsOf = (r: { t: Date | null; d0: string | null; d1: string | null; d2: string | null }, create: boolean) => {
    const out: StatsAcc[] = [totals];
    const t = timeOf(r.t);
    if (t !== null) {
      let s = series.get(t);
      if (!s && create) series.set(t, (s = emptyAcc()));
      if (s) out.push(s);
    }
    if (req.dims.length) {
      const k = groupKey(r);
      let g = groups.get(k);
      if (!g && create) groups.set(k, (g = { values: [r.d0, r.d1, r.d2].slice(0, req.dims.length), acc: emptyAcc(), series: new Map() }));
      if (g) {
        out.push(g.acc);
        if (t !== null) {
          let gs = g.series.get(t);
          if (!gs && create) g.series.set(t, (gs = emptyAcc()));
          if (gs) out.push(gs);
        }
      }
    }
    return out;
  };
  for (const r of rows) for (const acc of cellsOf(r, true)) addRow(acc, r);
  // Each cell row belongs to one level (GROUPING SETS): add it to that accumulator only.
  for (const c of cells) {
    const t = c.by_time === 0 ? timeOf(c.t) : null;
    const g = c.by_group === 0 ? groups.get(groupKey(c)) : undefined;
    const target = c.by_group === 0 ? (t === null ? g?.acc : g?.series.get(t)) : t === null ? totals : series.get(t);
    if (target) addCell(target.hist, c.cell, c.c);
  }
  for (const e of exactRows) {
    const t = e.by_time === 0 ? timeOf(e.t) : null;
    const inGroup = e.by_group === 0;
    let target: StatsAcc | undefined;
    if (t === null && !inGroup) target = totals;
    else if (t !== null && !inGroup) target = series.get(t);
    else if (t === null && inGroup) target = groups.get(groupKey(e))?.acc;
    else target = groups.get(groupKey(e))?.series.get(t as number);
    // percentile_disc over no rows is NULL: an empty range has no exact percentiles.
    if (target && e.p) target.exact = e.p.map(Number);
  }

  const fill = (m: Map<number, StatsAcc>): SeriesPoint[] => {
    if (!req.interval) return [];
    // Gaps share one frozen empty accumulator: resolvers only read them.
    return starts.map((t) => ({ timestamp: new Date(t), acc: m.get(t) ?? EMPTY_ACC }));
  };
  const sorted = [...groups.values()].sort(groupComparator(order));
  const limit = req.groupLimit ?? 100;
  const groupList = sorted
    .slice(0, limit)
    .map((g) => ({ key: groupKeyOf(req.dims, g.values), values: g.values, acc: g.acc, series: fill(g.series) }));

  return {
    from: req.from,
    to: req.to,
    interval: req.interval,
    timeZone: zone,
    pieces,
    percentileMethod: exact ? 'EXACT' : 'HISTOGRAM',
    rawReason: rollupsOn && !family && pieces.length ? rawReasonOf(req.filter, req.dims) : null,
    totals,
    groups: groupList,
    series: fill(series),
    groupCount: sorted.length,
    rest: sorted.slice(limit),
  };
}

/** Adds one accumulator into another: exact for counts, token and money sums; min/max kept; histograms merged. */
export function addAcc(target: StatsAcc, a: StatsAcc): void {
  target.n += a.n;
  target.errors += a.errors;
  target.durSum += a.durSum;
  target.durMin = minOf(target.durMin, a.durMin);
  target.durMax = maxOf(target.durMax, a.durMax);
  target.ttftSum += a.ttftSum;
  target.ttftN += a.ttftN;
  target.ttftMin = minOf(target.ttftMin, a.ttftMin);
  target.ttftMax = maxOf(target.ttftMax, a.ttftMax);
  target.promptTokens += a.promptTokens;
  target.completionTokens += a.completionTokens;
  target.cachedTokens += a.cachedTokens;
  target.totalTokens += a.totalTokens;
  target.promptCost += a.promptCost;
  target.completionCost += a.completionCost;
  target.totalCost += a.totalCost;
  mergeInto(target.hist, a.hist);
}

/**
 * The groups past groupLimit as one group: every additive stat is exactly totals − shown groups
 * (each row lies in exactly one group); min/max over those groups; percentiles from their
 * merged histograms (HISTOGRAM plans) and null under EXACT plans, where raw percentiles do not
 * merge. Null when no group was left out.
 */
export function otherGroup(r: Pick<TraceStatsResult, 'rest' | 'interval' | 'from' | 'to' | 'timeZone'>, dims: readonly Dimension[]): GroupStats | null {
  if (!r.rest.length) return null;
  const acc = emptyAcc();
  const series = new Map<number, StatsAcc>();
  for (const g of r.rest) {
    addAcc(acc, g.acc);
    for (const [t, a] of g.series) {
      let s = series.get(t);
      if (!s) series.set(t, (s = emptyAcc()));
      addAcc(s, a);
    }
  }
  const points: SeriesPoint[] = r.interval
    ? bucketStarts(r.from, r.to, r.interval, r.timeZone).map((t) => ({ timestamp: new Date(t), acc: series.get(t) ?? EMPTY_ACC }))
    : [];
  const values = dims.map(() => null);
  return { key: groupKeyOf(dims, values), values, acc, series: points };
}
