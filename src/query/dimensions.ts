import type { TraceFilter } from './trace-filter';

export type Dimension = 'MODEL' | 'PROVIDER' | 'PROJECT' | 'ENVIRONMENT' | 'USER' | 'STATUS' | 'OPERATION' | 'ERROR_TYPE';

/** SQL for each dimension over the raw table; fixed strings only, never user input. */
export const RAW_DIMENSION_SQL: Record<Dimension, string> = {
  MODEL: 'model',
  PROVIDER: 'provider',
  PROJECT: 'project_id',
  ENVIRONMENT: 'environment',
  USER: 'user_id',
  STATUS: "CASE WHEN status_code >= 400 THEN 'ERROR' ELSE 'OK' END",
  OPERATION: 'operation',
  // Issue 17: no rollup is keyed by error type (errors are a small share of the rows): raw rows answer.
  ERROR_TYPE: 'error_type',
};

/** Dimensions the rollups are grouped by (their key columns). */
export const ROLLUP_DIMENSION_SQL: Partial<Record<Dimension, string>> = {
  MODEL: 'model',
  PROVIDER: 'provider',
  PROJECT: 'project_id',
  ENVIRONMENT: 'environment',
};

export const MAX_DIMENSIONS = 3;

/** Filters the rollups can apply: only their key columns (time is handled by the source plan). */
const ROLLUP_FILTER_KEYS = new Set(['from', 'to', 'projectIds', 'providers', 'models', 'environments']);

export function rollupsCanAnswer(filter: TraceFilter, dims: readonly Dimension[]): boolean {
  return (
    Object.keys(filter).every((k) => ROLLUP_FILTER_KEYS.has(k)) && dims.every((d) => ROLLUP_DIMENSION_SQL[d] !== undefined)
  );
}

/** The per-user rollups (traces_user_*) are keyed by project and user only. */
export const USER_ROLLUP_DIMENSION_SQL: Partial<Record<Dimension, string>> = {
  USER: 'user_id',
  PROJECT: 'project_id',
};
const USER_ROLLUP_FILTER_KEYS = new Set(['from', 'to', 'projectIds', 'userIds']);

export type TraceRollupFamily = 'traces' | 'traces_user' | 'traces_model';

/** The by-model rollups (traces_model_*) are keyed by provider and model only. */
const MODEL_ROLLUP_DIMENSIONS = new Set<Dimension>(['MODEL', 'PROVIDER']);
const MODEL_ROLLUP_FILTER_KEYS = new Set(['from', 'to', 'providers', 'models']);

/**
 * The family that answers with the fewest rows: the by-model rollups when the trace rollups
 * could answer and nothing asks for a project or an environment — neither a filter, a
 * grouping, nor the key's scope (a key limited to projects reads the trace rollups, which carry
 * them). Otherwise the family of traceRollupFamily.
 */
export function narrowestTraceFamily(filter: TraceFilter, dims: readonly Dimension[], scopedToProjects: boolean): TraceRollupFamily | null {
  const family = traceRollupFamily(filter, dims);
  if (family !== 'traces' || scopedToProjects) return family;
  for (const k in filter) if (!MODEL_ROLLUP_FILTER_KEYS.has(k)) return family;
  for (const d of dims) if (!MODEL_ROLLUP_DIMENSIONS.has(d)) return family;
  return 'traces_model';
}

/** Which trace rollup family can answer a filter and grouping exactly; null: only raw rows. */
export function traceRollupFamily(filter: TraceFilter, dims: readonly Dimension[]): TraceRollupFamily | null {
  if (rollupsCanAnswer(filter, dims)) return 'traces';
  const keys = Object.keys(filter);
  if (
    dims.includes('USER') || filter.userIds
      ? keys.every((k) => USER_ROLLUP_FILTER_KEYS.has(k)) && dims.every((d) => USER_ROLLUP_DIMENSION_SQL[d] !== undefined)
      : false
  ) {
    return 'traces_user';
  }
  return null;
}

export interface GroupKeyValue {
  model?: string | null;
  provider?: string | null;
  projectId?: string | null;
  environment?: string | null;
  userId?: string | null;
  status?: string | null;
  operation?: string | null;
  errorType?: string | null;
}

const KEY_FIELD: Record<Dimension, keyof GroupKeyValue> = {
  MODEL: 'model',
  PROVIDER: 'provider',
  PROJECT: 'projectId',
  ENVIRONMENT: 'environment',
  USER: 'userId',
  STATUS: 'status',
  OPERATION: 'operation',
  ERROR_TYPE: 'errorType',
};

export function groupKeyOf(dims: readonly Dimension[], values: readonly (string | null)[]): GroupKeyValue {
  const key: GroupKeyValue = {};
  dims.forEach((d, i) => (key[KEY_FIELD[d]] = values[i] ?? null));
  return key;
}

const FILTER_LABEL: Record<string, string> = { userIds: 'userIds (with other filters)', errorTypes: 'errorTypes' };

/**
 * Why no rollup family answers this filter and grouping (QueryPlan.rawReason): the first filter
 * key and the first dimension no family carries, e.g. "filter errorTypes; groupBy ERROR_TYPE".
 */
export function rawReasonOf(filter: TraceFilter, dims: readonly Dimension[]): string | null {
  if (traceRollupFamily(filter, dims)) return null;
  const parts: string[] = [];
  const keys = Object.keys(filter).filter((k) => !ROLLUP_FILTER_KEYS.has(k));
  if (keys.length) parts.push(`filter ${keys.map((k) => FILTER_LABEL[k] ?? k).join(', ')}`);
  const raw = dims.filter((d) => ROLLUP_DIMENSION_SQL[d] === undefined);
  if (raw.length) parts.push(`groupBy ${raw.join(', ')}`);
  const reason = parts.join('; ') || 'this combination of filter and groupBy';
  return `${reason}: no rollup carries it, raw rows answer`;
}
