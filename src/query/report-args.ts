import type { Config } from '../config';
import { badInput } from '../shared/errors';
import { resolveRange, type RangeInput } from '../shared/time-range';
import { normalizeTraceFilter, type TraceFilterInput } from './trace-filter-input';
import type { TraceFilter } from './trace-filter';
import type { Dimension } from './dimensions';
import { BY_REQUESTS, resolveGroupOrder, type GroupOrder } from './group-order';
import { resolveTimeZone } from './calendar-buckets';
import { chooseInterval, type Interval, type IntervalInput } from './intervals';

export interface ReportArgs {
  range: RangeInput;
  filter?: TraceFilterInput | null;
  groupBy?: readonly Dimension[] | null;
  interval?: IntervalInput | null;
  groupLimit?: number | null;
  groupOrder?: { field?: string | null; direction?: string | null } | null;
  /** IANA zone of DAY/WEEK/MONTH buckets (and of monthToDate); default UTC. */
  timeZone?: string | null;
}

export interface ResolvedReportArgs {
  from: Date;
  to: Date;
  filter: TraceFilter;
  dims: readonly Dimension[];
  interval: Interval | null;
  groupLimit: number;
  /** null: the report's own default (performance: most requests first; costs: most cost first). */
  groupOrder: GroupOrder | null;
  timeZone: string;
}

export const RELATIVE_RANGE_QUANTUM_MS = 10_000;

/** Validates a report's range, filter, grouping and interval; the time range lives in `range` only. */
export function resolveReportArgs(args: ReportArgs, config: Config, now = new Date()): ResolvedReportArgs {
  const f = args.filter;
  if (f && (f.from != null || f.to != null || f.last != null)) {
    throw badInput('Reports take their time range from `range`; remove from/to/last from `filter`');
  }
  const r = resolveRange(args.range, {
    now,
    retentionDays: config.database.retentionDays,
    quantumMs: RELATIVE_RANGE_QUANTUM_MS,
    required: true,
  })!;
  const groupLimit = args.groupLimit ?? 100;
  if (!Number.isInteger(groupLimit) || groupLimit < 1 || groupLimit > 1000) {
    throw badInput('groupLimit must be between 1 and 1000', { argument: 'groupLimit' });
  }
  const timeZone = resolveTimeZone(args.timeZone);
  return {
    timeZone,
    from: r.from,
    to: r.to,
    filter: normalizeTraceFilter(f, config, now),
    dims: args.groupBy ?? [],
    interval: args.interval ? chooseInterval(r.from, r.to, args.interval, config.analytics.maxSeriesPoints, timeZone) : null,
    groupLimit,
    groupOrder: args.groupOrder ? resolveGroupOrder(args.groupOrder, BY_REQUESTS) : null,
  };
}
