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

export function addRow(acc: StatsAcc, r: StatsRow): void {
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

