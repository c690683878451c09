import type { Config } from '../config';
import { badInput } from '../shared/errors';
import { resolveRange } from '../shared/time-range';
import type { TraceFilter } from './trace-filter';
import { w3cTraceId } from './w3c-trace-id';

/** The GraphQL TraceFilter input, validated into a TraceFilter by normalizeTraceFilter. */
export interface TraceFilterInput {
  from?: Date | null;
  to?: Date | null;
  last?: string | null;
  projectIds?: readonly string[] | null;
  providers?: readonly string[] | null;
  models?: readonly string[] | null;
  userIds?: readonly string[] | null;
  sessionIds?: readonly string[] | null;
  traceIds?: readonly string[] | null;
  environments?: readonly string[] | null;
  operations?: readonly string[] | null;
  status?: 'OK' | 'ERROR' | null;
  statusCodes?: readonly number[] | null;
  tags?: readonly string[] | null;
  minCostUsd?: number | null;
  maxCostUsd?: number | null;
  minDurationMs?: number | null;
  maxDurationMs?: number | null;
  minTokens?: number | null;
  maxTokens?: number | null;
  // issue 17 (groups): error types
  errorTypes?: readonly string[] | null;
}

const MAX_LIST = 100;
const MAX_STRING = 200;

function list<T>(name: string, v: readonly T[] | null | undefined): readonly T[] | undefined {
  if (v == null) return undefined;
  if (v.length === 0) throw badInput(`filter.${name} must not be empty; omit it to match everything`);
  if (v.length > MAX_LIST) throw badInput(`filter.${name} takes at most ${MAX_LIST} values`);
  for (const x of v) {
    if (typeof x === 'string' && x.length > MAX_STRING) throw badInput(`filter.${name} values are at most ${MAX_STRING} characters`);
  }
  return v;
}

function range(name: string, min: number | null | undefined, max: number | null | undefined) {
  for (const [k, v] of [[`min${name}`, min], [`max${name}`, max]] as const) {
    if (v != null && (!Number.isFinite(v) || v < 0)) throw badInput(`filter.${k} must be a non-negative number`);
  }
  if (min != null && max != null && min > max) throw badInput(`filter.min${name} is above filter.max${name}`);
}

/** Validates a GraphQL TraceFilter into the repository's form. */
export function normalizeTraceFilter(input: TraceFilterInput | null | undefined, config: Config, now = new Date()): TraceFilter {
  const f = input ?? {};
  range('CostUsd', f.minCostUsd, f.maxCostUsd);
  range('DurationMs', f.minDurationMs, f.maxDurationMs);
  range('Tokens', f.minTokens, f.maxTokens);
  const r = resolveRange(f, { now, retentionDays: config.database.retentionDays, quantumMs: 10_000 });
  const out: TraceFilter = {
    from: r?.from,
    to: r?.to,
    projectIds: list('projectIds', f.projectIds),
    providers: list('providers', f.providers),
    models: list('models', f.models),
    userIds: list('userIds', f.userIds),
    sessionIds: list('sessionIds', f.sessionIds),
    traceIds: list('traceIds', f.traceIds)?.map((t, i) => w3cTraceId(t, `filter.traceIds[${i}]`)),
    environments: list('environments', f.environments),
    operations: list('operations', f.operations),
    status: f.status ?? undefined,
    statusCodes: list('statusCodes', f.statusCodes),
    tags: list('tags', f.tags),
    minCostUsd: f.minCostUsd ?? undefined,
    maxCostUsd: f.maxCostUsd ?? undefined,
    minDurationMs: f.minDurationMs ?? undefined,
    maxDurationMs: f.maxDurationMs ?? undefined,
    minTokens: f.minTokens ?? undefined,
    maxTokens: f.maxTokens ?? undefined,
    // issue 17 (groups): error types
    errorTypes: list('errorTypes', f.errorTypes),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as TraceFilter;
}
