import type { Interval } from './intervals';
import { bucketSnapper, bucketStarts, isZoned } from './calendar-buckets';

/**
 * Group and series assembly shared by the trace-stats engine and score reports: SQL returns
 * rows keyed by up to three dimension values (d0..d2) and a bucket time; these place each row
 * into the total, its group, its time bucket and (optionally) its group's bucket, and fill the
 * series with every bucket of the range.
 */
export interface DimRow {
  d0: string | null;
  d1: string | null;
  d2: string | null;
}

export const groupKeyOfRow = (r: DimRow): string => JSON.stringify([r.d0, r.d1, r.d2]);

/** The gap-filled bucket starts of a range; SQL's calendar buckets are matched to them (calendar-buckets.ts). */
export interface Timeline {
  readonly starts: readonly number[];
  /** The bucket start a SQL bucket time belongs to (null: the row is not per bucket). */
  timeOf(t: Date | null): number | null;
  /** One point per bucket of the range, `empty` where no row fell. */
  fill<T>(m: ReadonlyMap<number, T>, empty: T): { timestamp: Date; value: T }[];
}

export function timeline(from: Date, to: Date, interval: Interval | null, zone: string): Timeline {
  const starts = interval ? bucketStarts(from, to, interval, zone) : [];
  const snap = bucketSnapper(starts, isZoned(interval, zone));
  return {
    starts,
    timeOf: (t) => (t ? snap(new Date(t).getTime()) : null),
    fill: (m, empty) => starts.map((t) => ({ timestamp: new Date(t), value: m.get(t) ?? empty })),
  };
}

export interface GroupCell<T> {
  values: (string | null)[];
  acc: T;
  series: Map<number, T>;
}

/** The accumulators of one answer: total, per group, per bucket, and per group and bucket. */
export interface Cells<T> {
  readonly total: T;
  readonly groups: Map<string, GroupCell<T>>;
  readonly series: Map<number, T>;
  /** The accumulators row `r` (at bucket `t`) adds to; create=false returns only existing ones. */
  cellsOf(r: DimRow, t: number | null, create?: boolean): T[];
  /** The answer's point at bucket `t` (created when missing). */
  seriesAt(t: number): T;
  /** Row `r`'s group (created when missing). */
  groupOf(r: DimRow): GroupCell<T>;
}

export function createCells<T>(make: () => T, dimCount: number, opts: { groupSeries: boolean }): Cells<T> {
  const total = make();
  const groups = new Map<string, GroupCell<T>>();
  const series = new Map<number, T>();
  const at = (m: Map<number, T>, t: number, create: boolean) => {
    let s = m.get(t);
    if (!s && create) m.set(t, (s = make()));
    return s;
  };
  const groupAt = (r: DimRow, create: boolean) => {
    const k = groupKeyOfRow(r);
    let g = groups.get(k);
    if (!g && create) groups.set(k, (g = { values: [r.d0, r.d1, r.d2].slice(0, dimCount), acc: make(), series: new Map() }));
    return g;
  };
  const cellsOf = (r: DimRow, t: number | null, create = true): T[] => {
    const out: T[] = [total];
    const s = t !== null ? at(series, t, create) : undefined;
    if (s) out.push(s);
    if (!dimCount) return out;
    const g = groupAt(r, create);
    if (!g) return out;
    out.push(g.acc);
    const gs = t !== null && opts.groupSeries ? at(g.series, t, create) : undefined;
    if (gs) out.push(gs);
    return out;
  };
  const seriesAt = (t: number) => at(series, t, true)!;
  const groupOf = (r: DimRow) => groupAt(r, true)!;
  return { total, groups, series, cellsOf, seriesAt, groupOf };
}
