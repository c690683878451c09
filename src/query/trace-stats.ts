import type { Kysely } from 'kysely';
import type { Scope } from '../auth/viewer';
import type { Database } from '../db/schema';
import type { Config } from '../config';
import { withTimedRead, type DatabaseHandle } from '../db/database';
import { cachedRollupWatermarks } from '../db/rollup-refresh';
import type { TraceFilter } from './trace-filter';
import { MAX_DIMENSIONS, groupKeyOf, narrowestTraceFamily, rawReasonOf, type Dimension, type GroupKeyValue, type TraceRollupFamily } from './dimensions';
import type { Interval } from './intervals';
import { DEFAULT_TIME_ZONE } from './calendar-buckets';
import { addPackedCells } from './latency-histogram';
import { BY_REQUESTS, groupComparator, ordersByPercentile, withOrderColumns, type GroupOrder } from './group-order';
import {
  ALL_COLUMNS,
  ALL_LEVELS,
  countLatencyCellsPlanned,
  findExactLatencyPercentiles,
  sumTraceStatsPlanned,
  sumTraceStatsSplit,
  type ExactPercentileRow,
  type LevelCellRow,
  type PercentileLevels,
  type StatsColumns,
  type StatsRow,
} from './trace-stats.repository';
import { familyLevels, pickSources, type SourcePiece } from './source-plan';
import { EMPTY_ACC, addAcc, addSums, emptyAcc, rowSums, type StatsAcc } from './stats-acc';
import { createCells, groupKeyOfRow, timeline, type Cells, type DimRow, type Timeline } from './group-series';
import { badInput } from '../shared/errors';

/*
 * The trace-stats engine: one question (range, filter, dimensions, interval) answered from raw
 * traces and rollup pieces (source-plan.ts), summed per total, group, bucket and group bucket,
 * with exact or histogram percentiles. Performance and cost reports, compareModels, quality's
 * traffic count and Project.stats all read through it.
 */

export { addAcc, emptyAcc, latencyPercentiles, type StatsAcc } from './stats-acc';

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
  /** The interval the groups' series were read at: `interval`, or null when the request read none. */
  seriesInterval: Interval | null;
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
  /** Which sums the answer reads (default: all; the group order's are always read); the others are zero / null in its accumulators. */
  columns?: StatsColumns;
  /**
   * false: no series is read (neither the answer's nor its groups'), so the sums are read per
   * group over the whole range, without the interval, from the coarsest rollups; `series` and
   * the groups' series are then empty. Default true.
   */
  series?: boolean;
  /**
   * false: the groups' series are not read (the answer's own series may be), so the sums come
   * per bucket and per group rather than per (bucket, group); the groups' series are then
   * empty. Default true.
   */
  groupSeries?: boolean;
  /**
   * false: the `other` group's percentiles are not read, so when there are more groups than
   * groupLimit (and the order is not a percentile) only the shown groups' histograms are read.
   * Default true.
   */
  otherPercentiles?: boolean;
  /** Keep the first groups in groupOrder; the rest are merged into `other` when asked for. */
  groupLimit?: number;
  /** Default: most requests first. */
  groupOrder?: GroupOrder;
  /** Ranges up to this long get exact percentiles from raw rows even when rollups give the sums. */
  exactPercentilesMaxMs?: number;
  /** false: read raw rows only (operators' switch, benchmarks). */
  useRollups?: boolean;
}

/** What a report's QueryPlan shows: the pieces read and how percentiles were computed. */
export type StatsPlan = Pick<TraceStatsResult, 'pieces' | 'percentileMethod'> & { readonly rawReason?: string | null };

/** The sources and percentile method of one question, decided before any statement runs. */
interface StatsPlanning {
  rollupsOn: boolean;
  family: TraceRollupFamily | null;
  /** The pieces of the sums, at `sumInterval`. */
  pieces: SourcePiece[];
  /** The request's interval, or null when no series is read. */
  sumInterval: Interval | null;
  /** Sums per bucket and per group, not per (bucket, group): the groups' series are not read. */
  splitSeries: boolean;
  /**
   * With splitSeries, when the groups need another rollup family than the series: the pieces
   * of the points and the total (no dimensions, at the interval); `pieces` then holds the
   * groups' (no interval). Empty otherwise.
   */
  seriesPieces: SourcePiece[];
  columns: StatsColumns;
  /** Pieces of the histogram cells: coarser than `pieces` when no series point needs percentiles. */
  cellPieces: SourcePiece[];
  cellInterval: Interval | null;
  /** Group histograms for the shown groups only (readTraceStats), with these pieces; the total's and points' from seriesCellPieces. */
  topCells: boolean;
  groupCellPieces: SourcePiece[];
  seriesCellPieces: SourcePiece[];
  percentiles: boolean;
  exact: boolean;
  levels: PercentileLevels;
  order: GroupOrder;
}

interface StatsData {
  /** The sums rows added into the answer's accumulators (once, before the cells are read). */
  sums: SummedRows;
  cells: LevelCellRow[];
  exactRows: ExactPercentileRow[];
}

export async function computeTraceStats(
  deps: { database: DatabaseHandle; config: Pick<Config, 'analytics'> },
  scope: Scope,
  req: TraceStatsRequest,
): Promise<TraceStatsResult> {
  const [result] = await computeTraceStatsWith(deps, scope, req, async () => undefined);
  return result;
}

/**
 * computeTraceStats, with `more` read in the same transaction right after the trace statements:
 * one BEGIN/COMMIT and one pooled connection for a report that also reads other tables
 * (compareModels' providers and score means, quality's scores) instead of two transactions
 * side by side. `more` runs under the aggregate statement timeout.
 */
export async function computeTraceStatsWith<T>(
  deps: { database: DatabaseHandle; config: Pick<Config, 'analytics'> },
  scope: Scope,
  req: TraceStatsRequest,
  more: (trx: Kysely<Database>) => Promise<T>,
): Promise<[TraceStatsResult, T]> {
  const plan = await planTraceStats(deps, req, scope.projectIds !== null);
  const { database } = deps;
  const [data, extra] = await withTimedRead(database, 'aggregate', async (trx) => {
    // Side by side: one round trip for both in a read batch.
    return Promise.all([readTraceStats(trx, scope, req, plan), more(trx)] as const);
  });
  return [assembleTraceStats(req, plan, data), extra];
}

async function planTraceStats(
  deps: { database: DatabaseHandle; config: Pick<Config, 'analytics'> },
  req: TraceStatsRequest,
  scopedToProjects: boolean,
): Promise<StatsPlanning> {
  const exactPercentilesMaxMs = req.exactPercentilesMaxMs ?? deps.config.analytics.exactPercentilesMaxMs;
  if (req.dims.length > MAX_DIMENSIONS) throw badInput(`groupBy takes at most ${MAX_DIMENSIONS} dimensions`);
  if (new Set(req.dims).size !== req.dims.length) throw badInput('groupBy must not repeat a dimension');
  const rollupsOn = req.useRollups ?? deps.config.analytics.useRollups;
  // The family with the fewest rows for this filter, grouping and key (traces_model_* for an
  // org-wide report by model or provider, traces_user_* by user, else the trace rollups).
  const family = rollupsOn ? narrowestTraceFamily(req.filter, req.dims, scopedToProjects) : null;
  // The family of the same question without its dimensions (the answer's own series).
  const seriesFamily = rollupsOn ? narrowestTraceFamily(req.filter, [], scopedToProjects) : null;
  const watermarks = family || seriesFamily ? await cachedRollupWatermarks(deps.database) : {};
  const planOf = (fam: TraceRollupFamily | null, interval: Interval | null) =>
    pickSources({ from: req.from, to: req.to, interval, rollups: fam !== null, watermarks, levels: fam ? familyLevels(fam) : undefined, timeZone: req.timeZone });
  const plan = (interval: Interval | null) => planOf(family, interval);
  const intervalPieces = plan(req.interval);
  // Without a series to answer, the sums need no buckets: one row per group and piece, and the
  // coarsest rollups (the 24-hour model panel: 291 rows of hour × model, 30 without).
  const sumInterval = req.series === false ? null : req.interval;
  const pieces = sumInterval === req.interval ? intervalPieces : plan(null);
  const span = req.to.getTime() - req.from.getTime();
  const order = req.groupOrder ?? BY_REQUESTS;
  // Ordering by a percentile needs every group's percentiles, whether selected or not.
  const byPercentile = req.dims.length > 0 && ordersByPercentile(order);
  const percentiles = req.percentiles || byPercentile;
  const levels = byPercentile ? { ...(req.percentileLevels ?? ALL_LEVELS), group: true } : (req.percentileLevels ?? ALL_LEVELS);
  const columns = withOrderColumns(req.columns ?? ALL_COLUMNS, order);
  // A series per group is points × groups rows (30 days of 6-hour points by USER: ~20k at 3M
  // traces); without group series the sums come per point and per group (points + groups).
  const splitSeries = sumInterval !== null && req.dims.length > 0 && req.groupSeries === false;
  // When the dimensions need another family than the series (USER: the per-user rollups, or raw
  // rows), the points and the total come from the series' family at the interval and the groups
  // from theirs without it (30 days by USER at 6-hour points: traces_1hour for the points,
  // traces_user_1day for the users, instead of every user's hour rows).
  const seriesPieces = splitSeries && seriesFamily !== family ? planOf(seriesFamily, sumInterval) : [];
  const groupPieces = seriesPieces.length ? plan(null) : pieces;
  // Exact when the range is short, or when every slice the sums read is raw rows: the method
  // follows the plan the answer shows. (Decided on the interval's plan instead, 24 hours of
  // 5-minute points by USER — no per-user rollup under an hour — sorted every raw row of the
  // day for percentile_disc although the sums came from traces_user_1hour.)
  const raw = (p: { source: string }) => p.source === 'traces';
  const exact = percentiles && (span <= exactPercentilesMaxMs || (seriesPieces.every(raw) && groupPieces.every(raw)));
  // Histogram cells are most of an aggregation's cost. When no series point needs percentiles,
  // they do not need the series interval either: plan them over the coarsest rollups.
  const cellInterval = sumInterval && (levels.series || levels.groupSeries) ? sumInterval : null;
  const cellPieces = !percentiles || exact || cellInterval === sumInterval ? pieces : plan(null);
  // Group percentiles can be read for the shown groups only when the order is not a percentile
  // and neither `other` nor a group series asks for one (30 days by USER: the ten shown users'
  // rows of traces_user_1day instead of every user's); the total's and the points' cells then
  // come from the series' family (traces_1day rather than every user's rows). Only by USER,
  // whose groups can outnumber a page many times over: by a model, provider or project (tens of
  // groups, all of them usually shown) waiting for the sums only cost the read a second round
  // trip (a 24-hour latency-by-model report: two round trips for the same cells statement).
  const topCells =
    percentiles && !exact && levels.group && !levels.groupSeries && req.dims.includes('USER') && !byPercentile && req.otherPercentiles === false;
  const groupCellPieces = topCells && cellInterval !== null ? plan(null) : cellPieces;
  const seriesCellPieces = topCells && seriesFamily !== family ? planOf(seriesFamily, cellInterval) : cellPieces;
  return {
    rollupsOn,
    family,
    pieces: groupPieces,
    seriesPieces,
    sumInterval,
    splitSeries,
    columns,
    cellPieces,
    cellInterval,
    topCells,
    groupCellPieces,
    seriesCellPieces,
    percentiles,
    exact,
    levels,
    order,
  };
}

/**
 * Sums, histogram cells and exact percentiles, inside the caller's read. The statements that do
 * not depend on each other are started side by side, so that a read batch sends them in one
 * round trip; only the shown groups' cells wait for the sums (they pick the groups).
 */
async function readTraceStats(trx: Kysely<Database>, scope: Scope, req: TraceStatsRequest, p: StatsPlanning): Promise<StatsData> {
  const base = { scope, filter: req.filter, timeZone: req.timeZone, dims: req.dims };
  const allCells = p.percentiles && !p.exact && !p.topCells;
  const [rows, early, exactRows] = await Promise.all([
    p.seriesPieces.length
      ? sumTraceStatsSplit(trx, { ...base, dims: [], interval: p.sumInterval, columns: p.columns }, p.seriesPieces, { ...base, interval: null, columns: p.columns }, p.pieces)
      : sumTraceStatsPlanned(trx, { ...base, interval: p.sumInterval, columns: p.columns, splitSeries: p.splitSeries }, p.pieces),
    allCells ? countLatencyCellsPlanned(trx, { ...base, interval: p.cellInterval }, p.cellPieces, p.levels) : null,
    p.exact && p.pieces.length
      ? findExactLatencyPercentiles(trx, {
          ...base,
          from: req.from,
          to: req.to,
          interval: p.sumInterval,
          levels: p.levels,
        })
      : [],
  ]);
  const sums = sumRows(req, p, rows);
  let cells: LevelCellRow[] = early ?? [];
  if (p.percentiles && !p.exact && p.topCells) {
    const shown = shownGroupValues(req, p, sums);
    if (shown) {
      const { total, series } = p.levels;
      const [outer, inner] = await Promise.all([
        total || series ? countLatencyCellsPlanned(trx, { ...base, dims: [], interval: p.cellInterval }, p.seriesCellPieces, { total, series, group: false, groupSeries: false }) : [],
        countLatencyCellsPlanned(trx, { ...base, interval: null, groupKeys: shown }, p.groupCellPieces, { total: false, group: true, series: false, groupSeries: false }),
      ]);
      cells = [...outer, ...inner];
    } else {
      cells = await countLatencyCellsPlanned(trx, { ...base, interval: p.cellInterval }, p.cellPieces, p.levels);
    }
  }
  return { sums, cells, exactRows };
}

interface SummedRows {
  c: Cells<StatsAcc>;
  tl: Timeline;
}

/** The sums rows into the total, points, groups and group points (split sums: a row with a bucket time is a point). */
function sumRows(req: TraceStatsRequest, p: StatsPlanning, rows: readonly StatsRow[]): SummedRows {
  const tl = timeline(req.from, req.to, p.sumInterval, req.timeZone ?? DEFAULT_TIME_ZONE);
  const c = createCells(emptyAcc, req.dims.length, { groupSeries: true });
  for (const r of rows) {
    const sums = rowSums(r);
    if (!p.splitSeries) {
      for (const acc of c.cellsOf(r, tl.timeOf(r.t))) addSums(acc, sums);
    } else if (r.t !== null) {
      // A (t) row: its point and the total (every row lies in exactly one point).
      addSums(c.total, sums);
      const t = tl.timeOf(r.t);
      if (t !== null) addSums(c.seriesAt(t), sums);
    } else {
      addSums(c.groupOf(r).acc, sums);
    }
  }
  return { c, tl };
}

/**
 * The values of the groups the answer will show (the first groupLimit in its order, exactly as
 * assembleTraceStats sorts them), or null when every group is shown.
 */
function shownGroupValues(req: TraceStatsRequest, p: StatsPlanning, sums: SummedRows): (string | null)[][] | null {
  const limit = req.groupLimit ?? 100;
  if (sums.c.groups.size <= limit) return null;
  return [...sums.c.groups.values()].sort(groupComparator(p.order)).slice(0, limit).map((g) => g.values);
}

/**
 * The accumulator one GROUPING SETS row belongs to: by_time/by_group are 0 on the levels the
 * row is grouped by. Undefined when the sums have no such cell.
 */
function levelTarget(c: Cells<StatsAcc>, tl: Timeline, r: DimRow & { t: Date | null; by_time: number; by_group: number }): StatsAcc | undefined {
  const t = r.by_time === 0 ? tl.timeOf(r.t) : null;
  if (r.by_group !== 0) return t === null ? c.total : c.series.get(t);
  const g = c.groups.get(groupKeyOfRow(r));
  return t === null ? g?.acc : g?.series.get(t);
}

function assembleTraceStats(req: TraceStatsRequest, p: StatsPlanning, data: StatsData): TraceStatsResult {
  const zone = req.timeZone ?? DEFAULT_TIME_ZONE;
  const { c, tl } = data.sums;
  // Each cell row belongs to one level (GROUPING SETS): add it to that accumulator only.
  for (const row of data.cells) {
    const target = levelTarget(c, tl, row);
    if (target) addPackedCells(target.hist, row.cells);
  }
  for (const e of data.exactRows) {
    const target = levelTarget(c, tl, e);
    // percentile_disc over no rows is NULL: an empty range has no exact percentiles.
    if (target && e.p) target.exact = e.p.map(Number);
  }
  // Gaps share one frozen empty accumulator: resolvers only read them.
  const fill = (m: Map<number, StatsAcc>): SeriesPoint[] => tl.fill(m, EMPTY_ACC).map(({ timestamp, value }) => ({ timestamp, acc: value }));
  const sorted = [...c.groups.values()].sort(groupComparator(p.order));
  const limit = req.groupLimit ?? 100;
  return {
    from: req.from,
    to: req.to,
    interval: req.interval,
    seriesInterval: p.splitSeries ? null : p.sumInterval,
    timeZone: zone,
    pieces: [...p.seriesPieces, ...p.pieces],
    percentileMethod: p.exact ? 'EXACT' : 'HISTOGRAM',
    rawReason: p.rollupsOn && !p.family && p.pieces.length ? rawReasonOf(req.filter, req.dims) : null,
    totals: c.total,
    groups: sorted.slice(0, limit).map((g) => ({ key: groupKeyOf(req.dims, g.values), values: g.values, acc: g.acc, series: p.splitSeries ? [] : fill(g.series) })),
    series: fill(c.series),
    groupCount: sorted.length,
    rest: sorted.slice(limit),
  };
}

/**
 * The groups past groupLimit as one group: every additive stat is exactly totals − shown groups
 * (each row lies in exactly one group); min/max over those groups; percentiles from their
 * merged histograms (HISTOGRAM plans) and null under EXACT plans, where raw percentiles do not
 * merge. Null when no group was left out.
 */
export function otherGroup(r: Pick<TraceStatsResult, 'rest' | 'seriesInterval' | 'from' | 'to' | 'timeZone'>, dims: readonly Dimension[]): GroupStats | null {
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
  const points = timeline(r.from, r.to, r.seriesInterval, r.timeZone)
    .fill(series, EMPTY_ACC)
    .map(({ timestamp, value }): SeriesPoint => ({ timestamp, acc: value }));
  const values = dims.map(() => null);
  return { key: groupKeyOf(dims, values), values, acc, series: points };
}
