import { sql, type Sql as RawBuilder } from './sql-text';
import { badInput } from '../shared/errors';
import { BUCKET_ORIGIN_MS, INTERVAL_MS, INTERVAL_SQL, type Interval } from './intervals';

/**
 * Series buckets in a time zone. DAY, WEEK (Monday) and MONTH are calendar buckets of the
 * report's `timeZone` (IANA name, default UTC): local midnights, so a day is 23 or 25 hours
 * across a DST change. Shorter intervals are fixed-length buckets aligned on UTC (for the usual
 * whole-hour zones these are local hour boundaries too).
 *
 * SQL groups with date_trunc(unit, ts, zone) (PostgreSQL ≥ 12, the same in plain PostgreSQL and
 * embedded TimescaleDB); the gap-filled timestamps are computed here with Intl, the same
 * tz database rules. Rollups are UTC buckets, so a rollup level answers a zoned series only when
 * its buckets nest inside the local ones: 1-day rollups never (unless the zone is UTC), 1-hour
 * rollups when the zone's offset is whole hours over the range, 1-minute rollups when it is whole
 * minutes; otherwise raw rows.
 */

export const DEFAULT_TIME_ZONE = 'UTC';
const CALENDAR: ReadonlySet<Interval> = new Set(['DAY', 'WEEK', 'MONTH']);
const UNIT: Partial<Record<Interval, 'day' | 'week' | 'month'>> = { DAY: 'day', WEEK: 'week', MONTH: 'month' };
// IANA names: Area/Location[/Sub] or a bare link name (UTC, EST5EDT, Etc/GMT+5). Never a POSIX
// spec or an offset: PostgreSQL reads "+05:00" with the opposite sign from ISO 8601.
const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    if (formatters.size > 500) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/** The canonical IANA name of a report's time zone, or a coded BAD_USER_INPUT for an unknown one. */
export function resolveTimeZone(input: string | null | undefined): string {
  if (input == null) return DEFAULT_TIME_ZONE;
  const refuse = () =>
    badInput(`Unknown time zone "${input.slice(0, 64)}": give an IANA name such as "Europe/Paris", "America/New_York" or "UTC"`, {
      argument: 'timeZone',
      reason: 'UNKNOWN_TIME_ZONE',
    });
  const known = canonicalZones.get(input);
  if (known !== undefined) return known;
  if (input.length > 64 || !IANA_NAME.test(input)) throw refuse();
  let name: string;
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: input }).resolvedOptions().timeZone;
  } catch {
    throw refuse();
  }
  const canonical = name === 'Etc/UTC' || name === 'Etc/GMT' || name === 'GMT' ? 'UTC' : name;
  if (canonicalZones.size > 500) canonicalZones.clear();
  canonicalZones.set(input, canonical);
  return canonical;
}

/**
 * Accepted zone names → canonical names. Building an Intl.DateTimeFormat to check a name cost
 * ~200 µs of gateway CPU per aggregation under load (4 % of the profile: the cost estimate, the
 * report and its plan each resolve the zone); unknown names are not kept, and the map is bounded
 * like the formatters.
 */
const canonicalZones = new Map<string, string>();

/** Whether this series is bucketed by calendar in a zone (and not by fixed UTC steps). */
export const isZoned = (interval: Interval | null, timeZone: string = DEFAULT_TIME_ZONE): interval is Interval =>
  interval !== null && CALENDAR.has(interval) && (timeZone !== DEFAULT_TIME_ZONE || interval === 'MONTH');

interface LocalParts {
  y: number;
  m: number;
  d: number;
  weekday: number; // Monday 0 … Sunday 6
}
const WEEKDAY: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

function partsOf(t: number, timeZone: string): LocalParts & { wallMs: number } {
  const p: Record<string, string> = {};
  for (const x of formatterFor(timeZone).formatToParts(new Date(t))) p[x.type] = x.value;
  const y = Number(p.year), m = Number(p.month), d = Number(p.day);
  const wallMs = Date.UTC(y, m - 1, d, Number(p.hour), Number(p.minute), Number(p.second));
  return { y, m, d, weekday: WEEKDAY[p.weekday ?? 'Mon'] ?? 0, wallMs };
}

/** The zone's offset from UTC at instant t (ms; seconds precision). */
export function offsetAt(t: number, timeZone: string): number {
  const s = Math.floor(t / 1000) * 1000;
  return partsOf(s, timeZone).wallMs - s;
}

/** The instant of local midnight starting y-m-d (month/day may overflow, as in Date.UTC). */
function localMidnight(y: number, m: number, d: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d);
  let t = wall - offsetAt(wall, timeZone);
  t = wall - offsetAt(t, timeZone);
  // Midnight inside a DST gap: the day starts when the clock jumps (first instant after it).
  if (offsetAt(t, timeZone) + t !== wall) t = wall - offsetAt(t - 3_600_000, timeZone);
  return t;
}

function calendarStart(t: number, interval: Interval, timeZone: string): number {
  const p = partsOf(t, timeZone);
  if (interval === 'MONTH') return localMidnight(p.y, p.m, 1, timeZone);
  if (interval === 'WEEK') return localMidnight(p.y, p.m, p.d - p.weekday, timeZone);
  return localMidnight(p.y, p.m, p.d, timeZone);
}

function calendarNext(start: number, interval: Interval, timeZone: string): number {
  // Mid-bucket, then the start of the following bucket: safe across 23/25-hour days.
  const p = partsOf(start + 12 * 3_600_000, timeZone);
  if (interval === 'MONTH') return localMidnight(p.y, p.m + 1, 1, timeZone);
  if (interval === 'WEEK') return localMidnight(p.y, p.m, p.d - p.weekday + 7, timeZone);
  return localMidnight(p.y, p.m, p.d + 1, timeZone);
}

const floorFixed = (t: number, step: number) => BUCKET_ORIGIN_MS + Math.floor((t - BUCKET_ORIGIN_MS) / step) * step;

/** The starts of every bucket that overlaps [from, to), in order (the series' gap-filled points). */
export function bucketStarts(from: Date, to: Date, interval: Interval, timeZone: string = DEFAULT_TIME_ZONE, max = 100_000): number[] {
  const out: number[] = [];
  if (!isZoned(interval, timeZone)) {
    const step = INTERVAL_MS[interval];
    for (let t = floorFixed(from.getTime(), step); t < to.getTime() && out.length < max; t += step) out.push(t);
    return out;
  }
  for (let t = calendarStart(from.getTime(), interval, timeZone); t < to.getTime() && out.length < max; t = calendarNext(t, interval, timeZone)) out.push(t);
  return out;
}

/**
 * Maps a bucket timestamp from SQL to the gap-filled point it belongs to: itself for fixed
 * buckets; for calendar buckets the nearest start (a local day boundary computed by the
 * database and here agree; nearest also absorbs a DST-at-midnight difference of an hour).
 */
export function bucketSnapper(starts: readonly number[], zoned: boolean): (t: number) => number {
  if (!zoned || starts.length === 0) return (t) => t;
  return (t) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    const a = starts[lo]!;
    const b = starts[lo + 1];
    return b !== undefined && b - t < t - a ? b : a;
  };
}

/**
 * The largest rollup step (ms) whose UTC buckets nest inside this series' buckets over the
 * range; null when any step nests (no series). 0: only raw rows nest.
 */
export function nestingGrainMs(from: Date, to: Date, interval: Interval | null, timeZone: string = DEFAULT_TIME_ZONE): number | null {
  if (interval === null) return null;
  if (!isZoned(interval, timeZone)) return interval === 'MONTH' ? 86_400_000 : INTERVAL_MS[interval];
  if (timeZone === DEFAULT_TIME_ZONE) return 86_400_000; // UTC months: whole UTC days
  const instants = [from.getTime(), to.getTime() - 1, ...bucketStarts(from, to, interval, timeZone, 2_000)];
  const offsets = instants.map((t) => Math.abs(offsetAt(t, timeZone)));
  if (offsets.every((o) => o % 86_400_000 === 0)) return 86_400_000;
  if (offsets.every((o) => o % 3_600_000 === 0)) return 3_600_000;
  if (offsets.every((o) => o % 60_000 === 0)) return 60_000;
  return 0;
}

/** SQL for a row's bucket: time_bucket for fixed UTC buckets, date_trunc in the zone for calendar ones. */
export function bucketSql(interval: Interval | null, column: string, timeZone: string = DEFAULT_TIME_ZONE): RawBuilder<Date | null> {
  if (interval === null) return sql.raw<Date | null>('NULL::timestamptz');
  const unit = UNIT[interval];
  // Only fixed identifiers and units reach the SQL text; the zone is a bound parameter.
  if (isZoned(interval, timeZone) && unit) return sql<Date | null>`date_trunc(${sql.lit(unit)}, ${sql.raw(column)}, ${timeZone}::text)`;
  return sql.raw<Date | null>(`time_bucket(INTERVAL '${INTERVAL_SQL[interval]}', ${column})`);
}

/** The start of the calendar month containing `at`, in the zone (monthToDate). */
export function monthStart(at: Date, timeZone: string = DEFAULT_TIME_ZONE): Date {
  return new Date(calendarStart(at.getTime(), 'MONTH', timeZone));
}
