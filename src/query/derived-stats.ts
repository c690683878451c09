import { usdNumber } from '../shared/money';
import type { StatsAcc } from './stats-acc';

/**
 * Stats derived from an accumulator's sums, computed once here for every report that shows
 * them (performance and cost reports, compareModels, Project.stats, group ordering). A ratio
 * over nothing is null; the error rate of no requests is 0 where the schema says so.
 */
export const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export const errorRate = (a: StatsAcc): number | null => ratio(a.errors, a.n);
export const avgLatencyMs = (a: StatsAcc): number | null => ratio(a.durSum, a.n);
export const ttftAvgMs = (a: StatsAcc): number | null => ratio(a.ttftSum, a.ttftN);
export const tokensPerSecond = (a: StatsAcc): number | null => ratio(a.completionTokens, a.durSum / 1000);
export const costPerRequestUsd = (a: StatsAcc): number | null => ratio(usdNumber(a.totalCost), a.n);
export const costPer1kTokensUsd = (a: StatsAcc): number | null => ratio(usdNumber(a.totalCost) * 1000, a.totalTokens);
