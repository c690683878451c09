import type { Scope } from '../../auth/viewer';
import type { TraceFilter } from '../../query/trace-filter';
import type { Dimension } from '../../query/dimensions';
import type { GroupStats, SeriesPoint, StatsAcc, StatsPlan, TraceStatsResult } from '../../query/trace-stats';

/** A report keeps its dimensions so that `other` can build its (all-null) key. */
export type StatsReportParent = TraceStatsResult & { readonly dims: readonly Dimension[] };
export type StatsAccParent = StatsAcc;
export type SeriesPointParent = SeriesPoint;
export type GroupParent = GroupStats;
export type PlanParent = StatsPlan;

/** A cost report remembers its question so previousPeriod/monthToDate/topSpenders run only when selected. */
export type CostReportParent = StatsReportParent & { readonly scope: Scope; readonly filter: TraceFilter };
