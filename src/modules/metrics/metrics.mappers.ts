import type { Scope } from '../../auth/viewer';
import type { TraceFilter } from '../traces/traces.repository';
import type { GroupStats, SeriesPoint, StatsAcc, TraceStatsResult } from './trace-stats.service';

export type StatsReportParent = TraceStatsResult;
export type StatsAccParent = StatsAcc;
export type SeriesPointParent = SeriesPoint;
export type GroupParent = GroupStats;
export type PlanParent = Pick<TraceStatsResult, 'pieces' | 'percentileMethod'>;

/** A cost report remembers its question so previousPeriod/monthToDate/topSpenders run only when selected. */
export type CostReportParent = TraceStatsResult & { readonly scope: Scope; readonly filter: TraceFilter };
