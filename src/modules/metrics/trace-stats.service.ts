import type { Scope } from '../../auth/viewer';
import type { Config } from '../../config';
import { withStatementTimeout, type DatabaseHandle } from '../../db/database';
import { cachedRollupWatermarks } from '../../db/rollup-refresh';
import type { TraceFilter } from '../traces/traces.repository';
import { MAX_DIMENSIONS, groupKeyOf, traceRollupFamily, type Dimension, type GroupKeyValue } from './dimensions';
import { INTERVAL_MS, floorToInterval, type Interval } from './intervals';
import { addCell, percentileFromHistogram, type SparseHistogram } from './latency-histogram';
import { ALL_LEVELS, countLatencyCells, findExactLatencyPercentiles, sumTraceStats, type PercentileLevels, type StatsRow } from './metrics.repository';
import { familyLevels, pickSources, type SourcePiece } from './source-plan';
import { badInput } from '../../shared/errors';

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
  promptCost: number;
  completionCost: number;
  totalCost: number;
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
  pieces: SourcePiece[];
  percentileMethod: PercentileMethod;
  totals: StatsAcc;
  groups: GroupStats[];
  series: SeriesPoint[];
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
  promptCost: 0,
  completionCost: 0,
  totalCost: 0,
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
  acc.promptCost += r.prompt_cost;
  acc.completionCost += r.completion_cost;
  acc.totalCost += r.total_cost;
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
  percentiles: boolean;
  /** Which accumulators need histogram percentiles (default: all); others get none. */
  percentileLevels?: PercentileLevels;
  /** Keep the largest groups by this measure; the rest are dropped (bounded answers). */
  groupLimit?: number;
  groupOrder?: 'requests' | 'cost';
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
  const family = (req.useRollups ?? deps.config.analytics.useRollups) ? traceRollupFamily(req.filter, req.dims) : null;
  const watermarks = family ? await cachedRollupWatermarks(database) : {};
  const pieces = pickSources({
    from: req.from,
    to: req.to,
    interval: req.interval,
    rollups: family !== null,
    watermarks,
    levels: family ? familyLevels(family) : undefined,
  });
  const span = req.to.getTime() - req.from.getTime();
  const exact =
    req.percentiles && (pieces.every((p) => p.source === 'traces') || span <= exactPercentilesMaxMs);

  // Histogram cells are most of an aggregation's cost. When no series point needs percentiles,
  // they do not need the series interval either: plan them over the coarsest rollups.
  const levels = req.percentileLevels ?? ALL_LEVELS;
  const cellInterval = req.interval && (levels.series || levels.groupSeries) ? req.interval : null;
  const cellPieces =
    !req.percentiles || exact || cellInterval === req.interval
      ? pieces
      : pickSources({ from: req.from, to: req.to, interval: null, rollups: family !== null, watermarks, levels: family ? familyLevels(family) : undefined });

  const { rows, cells, exactRows } = await withStatementTimeout(database, database.readDb, 'aggregate', async (trx) => {
    const rows: StatsRow[] = [];
    const cells: Awaited<ReturnType<typeof countLatencyCells>> = [];
    for (const piece of pieces) {
      rows.push(...(await sumTraceStats(trx, { scope, filter: req.filter, piece, interval: req.interval, dims: req.dims })));
    }
    if (req.percentiles && !exact) {
      for (const piece of cellPieces) {
        cells.push(...(await countLatencyCells(trx, { scope, filter: req.filter, piece, interval: cellInterval, dims: req.dims }, levels)));
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
  const cellsOf = (r: { t: Date | null; d0: string | null; d1: string | null; d2: string | null }, create: boolean) => {
    const out: StatsAcc[] = [totals];
    const t = r.t ? new Date(r.t).getTime() : null;
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
    const t = c.by_time === 0 && c.t ? new Date(c.t).getTime() : null;
    const g = c.by_group === 0 ? groups.get(groupKey(c)) : undefined;
    const target = c.by_group === 0 ? (t === null ? g?.acc : g?.series.get(t)) : t === null ? totals : series.get(t);
    if (target) addCell(target.hist, c.cell, c.c);
  }
  for (const e of exactRows) {
    const t = e.by_time === 0 && e.t ? new Date(e.t).getTime() : null;
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
    const step = INTERVAL_MS[req.interval];
    const out: SeriesPoint[] = [];
    for (let t = floorToInterval(req.from.getTime(), step); t < req.to.getTime(); t += step) {
      // Gaps share one frozen empty accumulator: resolvers only read them.
      out.push({ timestamp: new Date(t), acc: m.get(t) ?? EMPTY_ACC });
    }
    return out;
  };
  const measure = req.groupOrder === 'cost' ? (a: StatsAcc) => a.totalCost : (a: StatsAcc) => a.n;
  const groupList = [...groups.values()]
    .sort((a, b) => measure(b.acc) - measure(a.acc) || JSON.stringify(a.values).localeCompare(JSON.stringify(b.values)))
    .slice(0, req.groupLimit ?? 100)
    .map((g) => ({ key: groupKeyOf(req.dims, g.values), values: g.values, acc: g.acc, series: fill(g.series) }));

  return {
    from: req.from,
    to: req.to,
    interval: req.interval,
    pieces,
    percentileMethod: exact ? 'EXACT' : 'HISTOGRAM',
    totals,
    groups: groupList,
    series: fill(series),
  };
}
