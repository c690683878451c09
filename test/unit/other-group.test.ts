import { emptyAcc, otherGroup, type StatsAcc } from '../../src/query/trace-stats';

const accOf = (n: number): StatsAcc => {
  const a = emptyAcc();
  a.n = n;
  return a;
};

describe('the "other" group of a report', () => {
  it('is null when no group was left out', () => {
    const r = { rest: [], seriesInterval: null, from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z'), timeZone: 'UTC' };
    expect(otherGroup(r, ['MODEL'])).toBeNull();
  });

  it('fills its series over calendar months in the report time zone (not fixed steps)', () => {
    // Paris: months start at 23:00 UTC (winter) or 22:00 UTC (summer).
    const oct = Date.parse('2026-09-30T22:00:00Z');
    const nov = Date.parse('2026-10-31T23:00:00Z');
    const rest = [
      { acc: accOf(3), series: new Map([[oct, accOf(1)], [nov, accOf(2)]]) },
      { acc: accOf(4), series: new Map([[nov, accOf(4)]]) },
    ];
    const g = otherGroup(
      { rest, seriesInterval: 'MONTH', from: new Date(oct), to: new Date('2026-11-30T23:00:00Z'), timeZone: 'Europe/Paris' },
      ['MODEL', 'PROVIDER'],
    );
    expect(g).not.toBeNull();
    expect(g!.values).toEqual([null, null]);
    expect(g!.acc.n).toBe(7);
    expect(g!.series.map((p) => [p.timestamp.toISOString(), p.acc.n])).toEqual([
      ['2026-09-30T22:00:00.000Z', 1],
      ['2026-10-31T23:00:00.000Z', 6],
    ]);
  });
});
