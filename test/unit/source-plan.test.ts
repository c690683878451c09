import { pickSources } from '../../src/query/source-plan';
import { chooseInterval, pointCount } from '../../src/query/intervals';
import { HIST_RELATIVE_ERROR, percentileFromHistogram } from '../../src/query/latency-histogram';

const D = (s: string) => new Date(s);
const fresh: Record<'traces_1min' | 'traces_1hour' | 'traces_1day', Date | null> = { traces_1min: D('2026-11-26T11:58:00Z'), traces_1hour: D('2026-11-26T11:00:00Z'), traces_1day: D('2026-11-26T00:00:00Z') };

function plan(from: string, to: string, interval: Parameters<typeof pickSources>[0]['interval'], rollups = true, watermarks = fresh) {
  return pickSources({ from: D(from), to: D(to), interval, rollups, watermarks }).map(
    (p) => `${p.source} ${p.from.toISOString().slice(0, 16)}..${p.to.toISOString().slice(0, 16)}`,
  );
}

describe('pickSources: the coarsest rollup that answers exactly', () => {
  it.each([
    // [case, from, to, interval, expected pieces]
    ['whole days → 1-day rollup only', '2026-11-01T00:00:00Z', '2026-11-25T00:00:00Z', null, ['traces_1day 2026-11-01T00:00..2026-11-25T00:00']],
    ['whole hours → 1-hour rollup only', '2026-11-25T03:00:00Z', '2026-11-25T09:00:00Z', 'HOUR', ['traces_1hour 2026-11-25T03:00..2026-11-25T09:00']],
    ['whole minutes → 1-minute rollup only', '2026-11-26T10:05:00Z', '2026-11-26T10:35:00Z', 'MINUTE', ['traces_1min 2026-11-26T10:05..2026-11-26T10:35']],
    [
      'ragged 30 days → raw, minute, hour and day edges',
      '2026-10-27T10:30:30Z',
      '2026-11-25T12:00:00Z',
      null,
      [
        'traces 2026-10-27T10:30..2026-10-27T10:31',
        'traces_1min 2026-10-27T10:31..2026-10-27T11:00',
        'traces_1hour 2026-10-27T11:00..2026-10-28T00:00',
        'traces_1day 2026-10-28T00:00..2026-11-25T00:00',
        'traces_1hour 2026-11-25T00:00..2026-11-25T12:00',
      ],
    ],
    [
      'beyond the watermarks the raw table answers',
      '2026-11-26T09:00:00Z',
      '2026-11-26T12:00:00Z',
      null,
      ['traces_1hour 2026-11-26T09:00..2026-11-26T11:00', 'traces_1min 2026-11-26T11:00..2026-11-26T11:58', 'traces 2026-11-26T11:58..2026-11-26T12:00'],
    ],
    ['a 5-minute series never uses hour or day rollups', '2026-11-25T00:00:00Z', '2026-11-25T06:00:00Z', 'FIVE_MINUTES', ['traces_1min 2026-11-25T00:00..2026-11-25T06:00']],
    ['a sub-minute range is raw', '2026-11-25T10:00:10Z', '2026-11-25T10:00:50Z', null, ['traces 2026-11-25T10:00..2026-11-25T10:00']],
  ])('%s', (_name, from, to, interval, expected) => {
    expect(plan(from, to, interval as never)).toEqual(expected);
  });

  it('sends everything to the raw table when a filter or dimension is not in the rollups', () => {
    expect(plan('2026-11-01T00:00:00Z', '2026-11-25T00:00:00Z', null, false)).toEqual(['traces 2026-11-01T00:00..2026-11-25T00:00']);
  });

  it('reads raw rows when rollups were never refreshed', () => {
    const none = { traces_1min: null, traces_1hour: null, traces_1day: null };
    expect(plan('2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z', null, true, none)).toEqual(['traces 2026-11-01T00:00..2026-11-02T00:00']);
  });

  it('pieces tile the range without gaps or overlaps', () => {
    const pieces = pickSources({ from: D('2026-10-27T10:30:30.5Z'), to: D('2026-11-26T11:59:59Z'), interval: null, rollups: true, watermarks: fresh });
    expect(pieces[0]!.from.toISOString()).toBe('2026-10-27T10:30:30.500Z');
    expect(pieces[pieces.length - 1]!.to.toISOString()).toBe('2026-11-26T11:59:59.000Z');
    for (let i = 1; i < pieces.length; i++) expect(pieces[i]!.from.getTime()).toBe(pieces[i - 1]!.to.getTime());
  });
});

describe('intervals', () => {
  it('AUTO picks the finest interval with at most 300 points', () => {
    expect(chooseInterval(D('2026-11-26T00:00:00Z'), D('2026-11-26T01:00:00Z'), 'AUTO', 1000)).toBe('MINUTE');
    expect(chooseInterval(D('2026-11-25T00:00:00Z'), D('2026-11-26T00:00:00Z'), 'AUTO', 1000)).toBe('FIVE_MINUTES');
    expect(chooseInterval(D('2026-10-27T00:00:00Z'), D('2026-11-26T00:00:00Z'), 'AUTO', 1000)).toBe('SIX_HOURS');
    expect(chooseInterval(D('2026-09-01T00:00:00Z'), D('2026-11-26T00:00:00Z'), 'AUTO', 1000)).toBe('DAY');
  });
  it('refuses an interval that would exceed the point budget', () => {
    expect(() => chooseInterval(D('2026-10-27T00:00:00Z'), D('2026-11-26T00:00:00Z'), 'MINUTE', 1000)).toThrow(/points/);
    expect(pointCount(D('2026-11-26T00:00:30Z'), D('2026-11-26T00:02:00Z'), 'MINUTE')).toBe(2);
  });
});

describe('histogram percentiles', () => {
  it('stay within the stated bound of percentile_disc on log-normal data', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const values = Array.from({ length: 20000 }, () => Math.exp(6 + 1.2 * Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand())));
    const sorted = [...values].sort((a, b) => a - b);
    const h = new Map<number, number>();
    const w = Math.log(600000) / 100;
    for (const v of values) {
      const cell = Math.min(101, Math.floor(Math.log(Math.max(v, 1)) / w) + 1);
      h.set(cell, (h.get(cell) ?? 0) + 1);
    }
    for (const p of [0.5, 0.9, 0.95, 0.99]) {
      const exact = sorted[Math.ceil(p * sorted.length) - 1]!;
      const est = percentileFromHistogram(h, p, sorted[0]!, sorted[sorted.length - 1]!)!;
      expect(Math.abs(est - exact) / exact).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
      // Interpolating inside the cell: far inside the bound on a smooth distribution (here at
      // most 1.1%, at p95; the cell's geometric midpoint was off by 6.7% at p50, 5.2% at p99).
      expect(Math.abs(est - exact) / exact).toBeLessThan(0.02);
    }
    expect(HIST_RELATIVE_ERROR).toBeLessThan(0.143);
  });

  const w = Math.log(600000) / 100;
  const cellOf = (v: number) => Math.min(101, Math.floor(Math.log(Math.max(v, 1)) / w) + 1);
  const histOf = (values: number[]) => {
    const h = new Map<number, number>();
    for (const v of values) h.set(cellOf(v), (h.get(cellOf(v)) ?? 0) + 1);
    return h;
  };
  const exactOf = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.ceil(p * values.length) - 1]!;

  it('moves with the counts inside a cell: two groups whose p95 shares a cell get different estimates', () => {
    const lo = Math.exp(60 * w);
    const hi = Math.exp(61 * w);
    // Both p95s fall in cell 61 (values between lo and hi), at different ranks inside it.
    const a = [...Array.from({ length: 90 }, () => 100), ...Array.from({ length: 10 }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / 10), 2 * hi];
    const b = [...Array.from({ length: 85 }, () => 100), ...Array.from({ length: 10 }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / 10), 2 * hi];
    const pa = percentileFromHistogram(histOf(a), 0.95, 100, 2 * hi)!;
    const pb = percentileFromHistogram(histOf(b), 0.95, 100, 2 * hi)!;
    expect(cellOf(pa)).toBe(61);
    expect(cellOf(pb)).toBe(61);
    expect(pa).not.toBe(pb);
    for (const [vals, est] of [[a, pa], [b, pb]] as const) {
      expect(Math.abs(est - exactOf(vals, 0.95)) / exactOf(vals, 0.95)).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
    }
  });

  it('keeps the bound in the worst case: every value at one edge of its cell', () => {
    for (const edge of [0.000001, 0.999999]) {
      for (const cell of [1, 2, 37, 80, 100]) {
        const v = Math.exp((cell - 1 + edge) * w);
        const values = [...Array.from({ length: 50 }, () => v), 0.5, 700_000];
        for (const p of [0.5, 0.9]) {
          const est = percentileFromHistogram(histOf(values), p, 0.5, 700_000)!;
          expect(Math.abs(est - v) / v).toBeLessThanOrEqual(HIST_RELATIVE_ERROR + 1e-9);
        }
      }
    }
  });

  it('narrows the extreme cells to the observed min and max, and stays within them', () => {
    const values = [1000, 1001, 1002, 1003];
    const h = histOf(values);
    for (const p of [0.01, 0.5, 0.99]) {
      const est = percentileFromHistogram(h, p, 1000, 1003)!;
      expect(est).toBeGreaterThanOrEqual(1000);
      expect(est).toBeLessThanOrEqual(1003);
    }
    expect(percentileFromHistogram(histOf([42]), 0.95, 42, 42)).toBe(42);
    expect(percentileFromHistogram(new Map(), 0.95, null, null)).toBeNull();
  });
});
