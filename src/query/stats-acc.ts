import { usdUnits, type UsdUnits } from '../shared/money';
import { mergeInto, percentileFromHistogram, type SparseHistogram } from './latency-histogram';
import type { StatsRow } from './trace-stats.repository';

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

export const EMPTY_ACC: StatsAcc = Object.freeze({ ...emptyAcc(), hist: new Map() }) as StatsAcc;

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** One sums row in accumulator terms: its money text parsed once, whichever accumulators it is added to. */
export type RowSums = Omit<StatsAcc, 'hist' | 'exact'>;

export function rowSums(r: StatsRow): RowSums {
  return {
    n: r.n,
    errors: r.errors,
    durSum: r.dur_sum,
    durMin: r.dur_min,
    durMax: r.dur_max,
    ttftSum: r.ttft_sum ?? 0,
    ttftN: r.ttft_n,
    ttftMin: r.ttft_min,
    ttftMax: r.ttft_max,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    cachedTokens: r.cached_tokens,
    totalTokens: r.total_tokens,
    promptCost: usdUnits(r.prompt_cost),
    completionCost: usdUnits(r.completion_cost),
    totalCost: usdUnits(r.total_cost),
  };
}

/** Adds one row's sums (counts, sums, min/max; no histogram) into an accumulator. */
export function addSums(acc: StatsAcc, s: RowSums): void {
  acc.n += s.n;
  acc.errors += s.errors;
  acc.durSum += s.durSum;
  acc.durMin = minOf(acc.durMin, s.durMin);
  acc.durMax = maxOf(acc.durMax, s.durMax);
  acc.ttftSum += s.ttftSum;
  acc.ttftN += s.ttftN;
  acc.ttftMin = minOf(acc.ttftMin, s.ttftMin);
  acc.ttftMax = maxOf(acc.ttftMax, s.ttftMax);
  acc.promptTokens += s.promptTokens;
  acc.completionTokens += s.completionTokens;
  acc.cachedTokens += s.cachedTokens;
  acc.totalTokens += s.totalTokens;
  acc.promptCost += s.promptCost;
  acc.completionCost += s.completionCost;
  acc.totalCost += s.totalCost;
}

/** p50/p90/p95/p99 of an accumulator: exact when available, else from its histogram. */
export function latencyPercentiles(acc: StatsAcc): { p50: number | null; p90: number | null; p95: number | null; p99: number | null } {
  const pick = (i: number, p: number) =>
    acc.exact ? (acc.exact[i] ?? null) : percentileFromHistogram(acc.hist, p, acc.durMin, acc.durMax);
  return { p50: pick(0, 0.5), p90: pick(1, 0.9), p95: pick(2, 0.95), p99: pick(3, 0.99) };
}

/** Adds one accumulator into another: exact for counts, token and money sums; min/max kept; histograms merged. */
export function addAcc(target: StatsAcc, a: StatsAcc): void {
  addSums(target, a);
  mergeInto(target.hist, a.hist);
}
