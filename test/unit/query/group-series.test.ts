import { createCells, timeline } from '../../../src/query/group-series';
import { costPer1kTokensUsd, costPerRequestUsd, errorRate, ratio, tokensPerSecond } from '../../../src/query/derived-stats';
import { emptyAcc } from '../../../src/query/stats-acc';

const FROM = new Date('2026-11-01T00:00:00Z');
const TO = new Date('2026-11-01T03:00:00Z');
const row = (d0: string | null, d1: string | null = null) => ({ d0, d1, d2: null });

describe('timeline', () => {
  it('gap-fills every bucket of the range and snaps SQL bucket times to them', () => {
    const tl = timeline(FROM, TO, 'HOUR', 'UTC');
    expect(tl.starts).toEqual([0, 1, 2].map((h) => FROM.getTime() + h * 3_600_000));
    expect(tl.timeOf(new Date('2026-11-01T01:00:00Z'))).toBe(FROM.getTime() + 3_600_000);
    expect(tl.timeOf(null)).toBeNull();
    const points = tl.fill(new Map([[tl.starts[1]!, 'x']]), '-');
    expect(points.map((p) => [p.timestamp.toISOString(), p.value])).toEqual([
      ['2026-11-01T00:00:00.000Z', '-'],
      ['2026-11-01T01:00:00.000Z', 'x'],
      ['2026-11-01T02:00:00.000Z', '-'],
    ]);
  });

  it('has no points without an interval', () => {
    const tl = timeline(FROM, TO, null, 'UTC');
    expect(tl.fill(new Map([[1, 'x']]), '-')).toEqual([]);
    expect(tl.timeOf(null)).toBeNull();
  });
});

describe('createCells', () => {
  it('places a row in the total, its bucket, its group and (when kept) the group bucket', () => {
    const c = createCells(() => ({ n: 0 }), 2, { groupSeries: true });
    for (const acc of c.cellsOf(row('a', 'x'), 5)) acc.n++;
    for (const acc of c.cellsOf(row('a', 'x'), null)) acc.n++;
    for (const acc of c.cellsOf(row('b', null), 5)) acc.n++;
    expect(c.total.n).toBe(3);
    expect(c.series.get(5)?.n).toBe(2);
    expect([...c.groups.values()].map((g) => [g.values, g.acc.n, g.series.get(5)?.n])).toEqual([
      [['a', 'x'], 2, 1],
      [['b', null], 1, 1],
    ]);
  });

  it('without group series, and create=false only finds existing cells', () => {
    const c = createCells(() => ({ n: 0 }), 1, { groupSeries: false });
    expect(c.cellsOf(row('a'), 7)).toHaveLength(3);
    expect(c.groups.get(JSON.stringify(['a', null, null]))?.series.size).toBe(0);
    expect(c.cellsOf(row('z'), 9, false)).toEqual([c.total]);
  });

  it('without dimensions, rows go to the total and buckets only', () => {
    const c = createCells(() => ({ n: 0 }), 0, { groupSeries: true });
    expect(c.cellsOf(row('a'), 1)).toHaveLength(2);
    expect(c.groups.size).toBe(0);
  });
});

describe('derived stats', () => {
  it('are null over nothing and exact ratios otherwise', () => {
    const none = emptyAcc();
    expect([errorRate(none), costPerRequestUsd(none), costPer1kTokensUsd(none), tokensPerSecond(none)]).toEqual([null, null, null, null]);
    const a = { ...emptyAcc(), n: 4, errors: 1, totalCost: 200_000_000n, totalTokens: 4000, completionTokens: 300, durSum: 1500 };
    expect([errorRate(a), costPerRequestUsd(a), costPer1kTokensUsd(a), tokensPerSecond(a)]).toEqual([0.25, 0.5, 0.5, 200]);
    expect(ratio(1, 0)).toBeNull();
  });
});
