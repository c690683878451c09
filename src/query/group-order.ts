import { badInput } from '../shared/errors';
import type { StatsAcc } from './stats-acc';
import { latencyPercentiles } from './stats-acc';
import { avgLatencyMs, errorRate } from './derived-stats';
import type { StatsColumns } from './trace-stats.repository';

/** The stat a report's groups are ordered by (GraphQL enum GroupOrderField). */
export type GroupOrderField =
  | 'REQUESTS'
  | 'ERRORS'
  | 'ERROR_RATE'
  | 'COST'
  | 'TOKENS'
  | 'AVG_LATENCY'
  | 'P50_LATENCY'
  | 'P90_LATENCY'
  | 'P95_LATENCY'
  | 'P99_LATENCY'
  | 'MAX_LATENCY'
  | 'KEY';

export interface GroupOrder {
  readonly field: GroupOrderField;
  readonly direction: 'ASC' | 'DESC';
}

export const BY_REQUESTS: GroupOrder = { field: 'REQUESTS', direction: 'DESC' };
export const BY_COST: GroupOrder = { field: 'COST', direction: 'DESC' };

const PERCENTILE_ORDER = new Set<GroupOrderField>(['P50_LATENCY', 'P90_LATENCY', 'P95_LATENCY', 'P99_LATENCY']);

/** Ordering by a percentile needs every group's percentiles before the limit is applied. */
export const ordersByPercentile = (o: GroupOrder): boolean => PERCENTILE_ORDER.has(o.field);

type Sortable = number | bigint | null;

const VALUE: Record<Exclude<GroupOrderField, 'KEY'>, (a: StatsAcc) => Sortable> = {
  REQUESTS: (a) => a.n,
  ERRORS: (a) => a.errors,
  ERROR_RATE: errorRate,
  COST: (a) => a.totalCost,
  TOKENS: (a) => a.totalTokens,
  AVG_LATENCY: avgLatencyMs,
  P50_LATENCY: (a) => latencyPercentiles(a).p50,
  P90_LATENCY: (a) => latencyPercentiles(a).p90,
  P95_LATENCY: (a) => latencyPercentiles(a).p95,
  P99_LATENCY: (a) => latencyPercentiles(a).p99,
  MAX_LATENCY: (a) => a.durMax,
};

/** The group of sums (trace-stats.repository.ts StatsColumns) an order reads, whether or not its fields are selected. */
const ORDER_COLUMN: Record<GroupOrderField, keyof StatsColumns | null> = {
  REQUESTS: null,
  ERRORS: null,
  ERROR_RATE: null,
  KEY: null,
  COST: 'cost',
  TOKENS: 'tokens',
  // Percentile estimates are clamped to the fastest and slowest call.
  AVG_LATENCY: 'duration',
  P50_LATENCY: 'duration',
  P90_LATENCY: 'duration',
  P95_LATENCY: 'duration',
  P99_LATENCY: 'duration',
  MAX_LATENCY: 'duration',
};

/** `columns` with the sums `order` ranks by added. */
export function withOrderColumns(columns: StatsColumns, order: GroupOrder): StatsColumns {
  const c = ORDER_COLUMN[order.field];
  return c && !columns[c] ? { ...columns, [c]: true } : columns;
}

/** Key values ascending, value by value, by code unit (locale-free, so every instance agrees); null last. */
export function compareKeys(a: readonly (string | null)[], b: readonly (string | null)[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * A total order on groups: by the chosen stat in the chosen direction (a group without the stat,
 * e.g. no percentile, comes last either way), ties by the group key ascending. KEY orders by
 * the key itself in the chosen direction.
 */
export function groupComparator(order: GroupOrder) {
  const sign = order.direction === 'ASC' ? 1 : -1;
  if (order.field === 'KEY') {
    return (a: { values: readonly (string | null)[] }, b: { values: readonly (string | null)[] }) => sign * compareKeys(a.values, b.values);
  }
  const value = VALUE[order.field];
  return (a: { values: readonly (string | null)[]; acc: StatsAcc }, b: { values: readonly (string | null)[]; acc: StatsAcc }) => {
    const x = value(a.acc);
    const y = value(b.acc);
    if (x !== y) {
      if (x === null) return 1;
      if (y === null) return -1;
      if (x < y) return -sign;
      if (x > y) return sign;
    }
    return compareKeys(a.values, b.values);
  };
}

/** GraphQL input → a validated order (defaults filled by the schema; this guards direct callers). */
export function resolveGroupOrder(input: { field?: string | null; direction?: string | null } | null | undefined, fallback: GroupOrder): GroupOrder {
  if (!input) return fallback;
  const field = (input.field ?? fallback.field) as GroupOrderField;
  const direction = (input.direction ?? 'DESC') as GroupOrder['direction'];
  if (field !== 'KEY' && !(field in VALUE)) throw badInput(`groupOrder.field ${String(field)} is not a group stat`, { argument: 'groupOrder' });
  if (direction !== 'ASC' && direction !== 'DESC') throw badInput('groupOrder.direction is ASC or DESC', { argument: 'groupOrder' });
  return { field, direction };
}
