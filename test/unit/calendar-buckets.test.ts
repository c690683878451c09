import { bucketSnapper, bucketStarts, monthStart, nestingGrainMs, resolveTimeZone } from '../../src/query/calendar-buckets';
import { chooseInterval, pointCount } from '../../src/query/intervals';
import { pickSources } from '../../src/query/source-plan';
import { resolveRange } from '../../src/shared/time-range';

const D = (s: string) => new Date(s);
const iso = (ts: number[]) => ts.map((t) => new Date(t).toISOString());

describe('calendar buckets in a time zone', () => {
  it('validates IANA names with a coded error, canonicalising UTC aliases', () => {
    expect(resolveTimeZone(undefined)).toBe('UTC');
    expect(resolveTimeZone('Etc/UTC')).toBe('UTC');
    expect(resolveTimeZone('Europe/Paris')).toBe('Europe/Paris');
    for (const bad of ['Mars/Olympus', '+05:00', 'UTC+5', "Europe/Paris'; DROP TABLE traces; --", '', 'x'.repeat(80)]) {
      expect(() => resolveTimeZone(bad)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', argument: 'timeZone' }) }));
    }
  });

  it('answers a zone name the same the second time, and refuses an unknown one every time', () => {
    for (let i = 0; i < 3; i++) {
      expect(resolveTimeZone('Etc/GMT')).toBe('UTC');
      expect(resolveTimeZone('America/New_York')).toBe('America/New_York');
      expect(() => resolveTimeZone('Mars/Olympus')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ reason: 'UNKNOWN_TIME_ZONE' }) }));
    }
    // More distinct names than the memo keeps: still every answer right.
    const names = Intl.supportedValuesOf('timeZone');
    const upper = names.map((n) => resolveTimeZone(n));
    expect(names.map((n) => resolveTimeZone(n.toLowerCase()))).toEqual(upper); // names are case-insensitive: twice the inputs
    expect(names.length * 2).toBeGreaterThan(500);
    expect(resolveTimeZone('Europe/Paris')).toBe('Europe/Paris');
  });

  it('day buckets are local midnights, 23 and 25 hours long across DST', () => {
    const days = bucketStarts(D('2026-03-28T00:00:00Z'), D('2026-03-31T00:00:00Z'), 'DAY', 'Europe/Paris');
    expect(iso(days)).toEqual(['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z']);
    const autumn = bucketStarts(D('2026-10-24T22:00:00Z'), D('2026-10-26T23:00:00Z'), 'DAY', 'Europe/Paris');
    expect(iso(autumn)).toEqual(['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']);
    expect(autumn[1]! - autumn[0]!).toBe(25 * 3_600_000);
  });

  it('weeks start on local Monday; months on the local first; UTC months too', () => {
    expect(iso(bucketStarts(D('2026-11-04T12:00:00Z'), D('2026-11-10T00:00:00Z'), 'WEEK', 'America/New_York'))).toEqual([
      '2026-11-02T05:00:00.000Z',
      '2026-11-09T05:00:00.000Z',
    ]);
    expect(iso(bucketStarts(D('2026-11-15T00:00:00Z'), D('2027-01-01T00:00:00Z'), 'MONTH', 'Asia/Tokyo'))).toEqual([
      '2026-10-31T15:00:00.000Z',
      '2026-11-30T15:00:00.000Z',
      '2026-12-31T15:00:00.000Z',
    ]);
    expect(iso(bucketStarts(D('2026-11-15T00:00:00Z'), D('2027-01-01T00:00:00Z'), 'MONTH'))).toEqual(['2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z']);
    expect(monthStart(D('2026-11-30T16:00:00Z'), 'Asia/Tokyo').toISOString()).toBe('2026-11-30T15:00:00.000Z');
    expect(pointCount(D('2026-01-01T00:00:00Z'), D('2027-01-01T00:00:00Z'), 'MONTH')).toBe(12);
    expect(chooseInterval(D('2026-09-01T00:00:00Z'), D('2026-11-26T00:00:00Z'), 'AUTO', 1000, 'Europe/Paris')).toBe('DAY');
  });

  it('snaps a database bucket to the nearest gap-filled start', () => {
    const starts = bucketStarts(D('2026-03-28T00:00:00Z'), D('2026-03-31T00:00:00Z'), 'DAY', 'Europe/Paris');
    const snap = bucketSnapper(starts, true);
    expect(snap(starts[2]!)).toBe(starts[2]);
    expect(snap(starts[2]! + 3_600_000)).toBe(starts[2]);
    expect(snap(starts[2]! - 3_600_000)).toBe(starts[2]);
  });

  it('rollups answer a zoned series only where their UTC buckets nest in the local ones', () => {
    const from = D('2026-11-01T00:00:00Z');
    const to = D('2026-11-20T00:00:00Z');
    expect(nestingGrainMs(from, to, 'DAY', 'UTC')).toBe(86_400_000);
    expect(nestingGrainMs(from, to, 'DAY', 'Europe/Paris')).toBe(3_600_000);
    expect(nestingGrainMs(from, to, 'DAY', 'Asia/Kolkata')).toBe(60_000);
    expect(nestingGrainMs(from, to, 'MONTH', 'UTC')).toBe(86_400_000);
    const fresh = { traces_1min: to, traces_1hour: to, traces_1day: to };
    const sources = (tz: string) => [...new Set(pickSources({ from, to, interval: 'DAY', rollups: true, watermarks: fresh, timeZone: tz }).map((p) => p.source))];
    expect(sources('UTC')).toEqual(['traces_1day']);
    expect(sources('Europe/Paris')).toEqual(['traces_1hour']);
    expect(sources('Asia/Kolkata')).toEqual(['traces_1min']);
  });

  it('accepts a range up to the end of the current calendar month', () => {
    const now = D('2026-12-02T04:00:00Z');
    expect(resolveRange({ from: D('2026-12-01T00:00:00Z'), to: D('2027-01-01T00:00:00Z') }, { now, retentionDays: 90 })).toBeTruthy();
    expect(resolveRange({ from: D('2026-11-30T15:00:00Z'), to: D('2026-12-31T15:00:00Z') }, { now, retentionDays: 90 })).toBeTruthy();
    expect(() => resolveRange({ from: D('2026-12-01T00:00:00Z'), to: D('2027-01-03T00:00:00Z') }, { now, retentionDays: 90 })).toThrow(/end of the current calendar month/);
  });
});

describe('pricing a zoned series', () => {
  it('prices the finer rollups a zoned day series reads, and refuses to price an unknown zone above the minimum', () => {
    const { estimateAnalyticsWork } = require('../../src/query/analytics-work') as typeof import('../../src/query/analytics-work');
    const settings = { retentionDays: 90, maxSeriesPoints: 1000, exactPercentilesMaxMs: 6 * 3_600_000, useRollups: true };
    const args = (timeZone: string | null) => ({ range: { last: '30d' }, interval: 'DAY', timeZone, percentiles: false });
    const utc = estimateAnalyticsWork(args('UTC'), settings);
    const paris = estimateAnalyticsWork(args('Europe/Paris'), settings);
    expect(utc.sources.some((s) => s.source === 'traces_1day')).toBe(true);
    expect(paris.sources.some((s) => s.source === 'traces_1day')).toBe(false);
    expect(paris.points).toBeGreaterThan(utc.points);
    expect(estimateAnalyticsWork(args('Nowhere/City'), settings).points).toBe(1);
  });
});
