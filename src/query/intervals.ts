import { badInput } from '../shared/errors';
import { bucketStarts } from './calendar-buckets';

export type Interval = 'MINUTE' | 'FIVE_MINUTES' | 'FIFTEEN_MINUTES' | 'HOUR' | 'SIX_HOURS' | 'DAY' | 'WEEK' | 'MONTH';
export type IntervalInput = Interval | 'AUTO';

export const INTERVAL_MS: Record<Interval, number> = {
  MINUTE: 60_000,
  FIVE_MINUTES: 300_000,
  FIFTEEN_MINUTES: 900_000,
  HOUR: 3_600_000,
  SIX_HOURS: 21_600_000,
  DAY: 86_400_000,
  WEEK: 604_800_000,
  // Calendar months vary (28–31 days): bucketed by calendar-buckets.ts, never by this step.
  MONTH: 2_678_400_000,
};

/** SQL interval literals for time_bucket(); only these fixed strings ever reach SQL. */
export const INTERVAL_SQL: Record<Interval, string> = {
  MINUTE: '1 minute',
  FIVE_MINUTES: '5 minutes',
  FIFTEEN_MINUTES: '15 minutes',
  HOUR: '1 hour',
  SIX_HOURS: '6 hours',
  DAY: '1 day',
  WEEK: '7 days',
  MONTH: '1 month',
};

const ORDERED = Object.keys(INTERVAL_MS) as Interval[];

/** time_bucket's origin (Monday 2000-01-03 UTC): weeks start on Monday, days at UTC midnight. */
export const BUCKET_ORIGIN_MS = Date.UTC(2000, 0, 3);

export const floorToInterval = (t: number, step: number) => BUCKET_ORIGIN_MS + Math.floor((t - BUCKET_ORIGIN_MS) / step) * step;

export function pointCount(from: Date, to: Date, interval: Interval, timeZone = 'UTC'): number {
  // Calendar buckets (MONTH; DAY and WEEK in a zone) are counted one by one: at most a few hundred.
  if (interval === 'MONTH' || (timeZone !== 'UTC' && (interval === 'DAY' || interval === 'WEEK'))) {
    const step = INTERVAL_MS[interval];
    if ((to.getTime() - from.getTime()) / (step / 2) > 100_000) return Infinity;
    return bucketStarts(from, to, interval, timeZone).length;
  }
  const step = INTERVAL_MS[interval];
  const first = floorToInterval(from.getTime(), step);
  return Math.ceil((to.getTime() - first) / step);
}

/** AUTO: the finest interval giving at most 300 points (so about 50–300 for typical ranges). */
export function chooseInterval(from: Date, to: Date, wanted: IntervalInput, maxPoints: number, timeZone = 'UTC'): Interval {
  if (wanted !== 'AUTO') {
    const n = pointCount(from, to, wanted, timeZone);
    if (n > maxPoints) {
      throw badInput(`interval ${wanted} over this range gives ${n} points; at most ${maxPoints} are allowed. Use a coarser interval or AUTO`, {
        argument: 'interval',
        points: n,
        maxPoints,
      });
    }
    return wanted;
  }
  for (const i of ORDERED) if (pointCount(from, to, i, timeZone) <= Math.min(300, maxPoints)) return i;
  return 'MONTH';
}
