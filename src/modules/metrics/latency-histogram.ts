import { HIST_BUCKETS, HIST_MAX_MS } from '../../../db/migrations/rollup-definitions';

/**
 * Percentiles from the rollups' log-scale latency histogram. Cell i (1..HIST_BUCKETS) holds
 * durations in [e^((i-1)w), e^(iw)) ms with w = ln(HIST_MAX_MS)/HIST_BUCKETS; the estimate is
 * the cell's geometric midpoint, clamped to the observed min/max. For the value of rank
 * ceil(p·n) (what percentile_disc returns) the relative error is at most e^(w/2) − 1.
 */
export const HIST_WIDTH = Math.log(HIST_MAX_MS) / HIST_BUCKETS;
export const HIST_RELATIVE_ERROR = Math.exp(HIST_WIDTH / 2) - 1;

export type SparseHistogram = Map<number, number>;

export function addCell(h: SparseHistogram, cell: number, count: number): void {
  h.set(cell, (h.get(cell) ?? 0) + count);
}

export function mergeInto(target: SparseHistogram, source: SparseHistogram): void {
  for (const [cell, n] of source) addCell(target, cell, n);
}

export function percentileFromHistogram(h: SparseHistogram, p: number, min: number | null, max: number | null): number | null {
  let total = 0;
  for (const n of h.values()) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  const cells = [...h.keys()].sort((a, b) => a - b);
  let seen = 0;
  for (const cell of cells) {
    seen += h.get(cell) as number;
    if (seen >= rank) {
      let estimate: number;
      if (cell <= 0) estimate = min ?? 0;
      else if (cell > HIST_BUCKETS) estimate = max ?? HIST_MAX_MS;
      else estimate = Math.exp((cell - 0.5) * HIST_WIDTH);
      if (min !== null && estimate < min) estimate = min;
      if (max !== null && estimate > max) estimate = max;
      return estimate;
    }
  }
  return max;
}
