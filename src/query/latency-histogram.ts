import { HIST_BUCKETS, HIST_MAX_MS } from '../../db/migrations/rollup-definitions';

/**
 * Percentiles from the rollups' log-scale latency histogram. Cell i (1..HIST_BUCKETS) holds
 * durations in [e^((i-1)w), e^(iw)) ms with w = ln(HIST_MAX_MS)/HIST_BUCKETS.
 *
 * The value of rank r = ceil(p·n) (what percentile_disc returns) lies in the cell where the
 * running count reaches r. The estimate spreads that cell's c values evenly over its bounds
 * and takes the k-th of them (k = r − the count below the cell): lo + (hi − lo)·(k − ½)/c. The
 * cell's bounds are narrowed to the observed min (lowest non-empty cell) and max (highest), and
 * the estimate is clamped to min..max. Since the exact value lies in the same (narrowed) cell,
 * the relative error is below (hi − lo)/lo = e^w − 1 ≈ 14.23% for latencies from 1 ms to
 * HIST_MAX_MS; on real distributions it is far smaller, and unlike a cell's representative
 * value it moves with the counts, so two groups sharing a cell get different percentiles.
 */
export const HIST_WIDTH = Math.log(HIST_MAX_MS) / HIST_BUCKETS;
export const HIST_RELATIVE_ERROR = Math.exp(HIST_WIDTH) - 1;

export type SparseHistogram = Map<number, number>;

export function addCell(h: SparseHistogram, cell: number, count: number): void {
  h.set(cell, (h.get(cell) ?? 0) + count);
}

/** Adds packed cells, `cell:count,cell:count…` (what the cells statement returns per level), into h. */
export function addPackedCells(h: SparseHistogram, packed: string): void {
  const end = packed.length;
  let at = 0;
  while (at < end) {
    const colon = packed.indexOf(':', at);
    let comma = packed.indexOf(',', colon);
    if (comma < 0) comma = end;
    addCell(h, Number(packed.slice(at, colon)), Number(packed.slice(colon + 1, comma)));
    at = comma + 1;
  }
}

export function mergeInto(target: SparseHistogram, source: SparseHistogram): void {
  for (const [cell, n] of source) addCell(target, cell, n);
}

/** The [lower, upper] latency bounds of a cell (ms); under/overflow cells fall back to min/max. */
function cellBounds(cell: number, min: number | null, max: number | null): [number, number] {
  if (cell <= 0) return [min ?? 0, Math.min(max ?? 1, 1)];
  if (cell > HIST_BUCKETS) return [Math.max(min ?? HIST_MAX_MS, HIST_MAX_MS), max ?? HIST_MAX_MS];
  return [Math.exp((cell - 1) * HIST_WIDTH), Math.exp(cell * HIST_WIDTH)];
}

export function percentileFromHistogram(h: SparseHistogram, p: number, min: number | null, max: number | null): number | null {
  // Non-empty cells in ascending order, without the intermediate arrays of keys/filter/entries
  // (this runs per accumulator and percentile: the answer's total, each group, each point).
  const cells: number[] = [];
  let total = 0;
  for (const [cell, n] of h) {
    if (n > 0) {
      cells.push(cell);
      total += n;
    }
  }
  if (total === 0) return null;
  if (cells.length > 1) cells.sort(ascending);
  const rank = Math.max(1, Math.ceil(p * total));
  const last = cells.length - 1;
  let seen = 0;
  for (let i = 0; i <= last; i++) {
    const cell = cells[i]!;
    const count = h.get(cell) as number;
    if (seen + count >= rank) {
      let [lo, hi] = cellBounds(cell, min, max);
      if (i === 0 && min !== null) lo = Math.max(lo, Math.min(min, hi));
      if (i === last && max !== null) hi = Math.min(hi, Math.max(max, lo));
      let estimate = lo + ((hi - lo) * (rank - seen - 0.5)) / count;
      if (min !== null && estimate < min) estimate = min;
      if (max !== null && estimate > max) estimate = max;
      return estimate;
    }
    seen += count;
  }
  return max;
}

const ascending = (a: number, b: number) => a - b;
