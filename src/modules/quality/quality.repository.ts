import { expressionBuilder, sql, type Kysely } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database, ScoreRow } from '../../db/schema';
import { traceConditions, type TraceFilter } from '../traces/traces.repository';
import { RAW_DIMENSION_SQL, type Dimension } from '../metrics/dimensions';
import { INTERVAL_SQL, type Interval } from '../metrics/intervals';

/** Scores of traces matching the filter: the join carries the tenant scope on both sides. */
function scoredTraces(scope: Scope, filter: TraceFilter, names: readonly string[] | null) {
  const eb = expressionBuilder<Database, 'traces'>();
  return sql`scores s JOIN traces ON traces.id = s.trace_id AND traces.org_id = s.org_id
    WHERE s.org_id = ${scope.orgId} AND ${traceConditions(eb, scope, filter)}
    ${names ? sql`AND s.name = ANY(${[...names]}::text[])` : sql``}`;
}

function dimSql(dims: readonly Dimension[]) {
  const parts: string[] = [];
  for (let i = 0; i < 3; i++) {
    const d = dims[i];
    const col = d ? RAW_DIMENSION_SQL[d] : null;
    // Qualify with traces: scores has a project_id of its own.
    const qualified = col === null ? null : /^[a-z_]+$/.test(col) ? `traces.${col}` : col.replace(/\bstatus_code\b/g, 'traces.status_code');
    parts.push(qualified ? `(${qualified})::text` : 'NULL::text');
  }
  return parts;
}

export interface ScoreAggRow {
  name: string;
  t: Date | null;
  d0: string | null;
  d1: string | null;
  d2: string | null;
  n: number;
  value_n: number;
  value_sum: number;
  value_min: number | null;
  value_max: number | null;
}

export async function sumScoresByName(
  db: Kysely<Database>,
  q: { scope: Scope; filter: TraceFilter; names: readonly string[] | null; dims: readonly Dimension[]; interval: Interval | null },
): Promise<ScoreAggRow[]> {
  const [d0, d1, d2] = dimSql(q.dims).map((s) => sql.raw(s));
  const t = q.interval ? sql.raw(`time_bucket(INTERVAL '${INTERVAL_SQL[q.interval]}', traces.ts)`) : sql.raw('NULL::timestamptz');
  const { rows } = await sql<ScoreAggRow>`
    SELECT s.name, ${t} AS t, ${d0} AS d0, ${d1} AS d1, ${d2} AS d2,
           count(*)::float8 AS n, count(s.value)::float8 AS value_n, coalesce(sum(s.value), 0) AS value_sum,
           min(s.value) AS value_min, max(s.value) AS value_max
      FROM ${scoredTraces(q.scope, q.filter, q.names)}
     GROUP BY 1, 2, 3, 4, 5 /* sumScoresByName */`.execute(db);
  return rows;
}

export async function countScoreBins(
  db: Kysely<Database>,
  q: { scope: Scope; filter: TraceFilter; names: readonly string[] | null },
): Promise<{ name: string; bin: number; lower: number; upper: number; n: number }[]> {
  const { rows } = await sql<{ name: string; bin: number; lower: number; upper: number; n: number }>`
    WITH v AS (SELECT s.name, s.value FROM ${scoredTraces(q.scope, q.filter, q.names)} AND s.value IS NOT NULL),
         r AS (SELECT name, min(value) AS lo, max(value) AS hi FROM v GROUP BY name)
    SELECT v.name, least(width_bucket(v.value, r.lo, CASE WHEN r.hi > r.lo THEN r.hi ELSE r.lo + 1 END, 10), 10) AS bin,
           r.lo AS lower, r.hi AS upper, count(*)::float8 AS n
      FROM v JOIN r USING (name)
     GROUP BY 1, 2, 3, 4 /* countScoreBins */`.execute(db);
  return rows;
}

export async function countScoreLabels(
  db: Kysely<Database>,
  q: { scope: Scope; filter: TraceFilter; names: readonly string[] | null },
): Promise<{ name: string; label: string; n: number }[]> {
  const { rows } = await sql<{ name: string; label: string; n: number }>`
    SELECT s.name, s.label, count(*)::float8 AS n
      FROM ${scoredTraces(q.scope, q.filter, q.names)} AND s.label IS NOT NULL
     GROUP BY 1, 2 /* countScoreLabels */`.execute(db);
  return rows;
}

export async function countScoredTraces(
  db: Kysely<Database>,
  q: { scope: Scope; filter: TraceFilter },
): Promise<{ scored: number; human: number }> {
  const { rows } = await sql<{ scored: number; human: number }>`
    SELECT count(DISTINCT s.trace_id)::float8 AS scored,
           count(DISTINCT s.trace_id) FILTER (WHERE s.source = 'human')::float8 AS human
      FROM ${scoredTraces(q.scope, q.filter, null)} /* countScoredTraces */`.execute(db);
  return rows[0] ?? { scored: 0, human: 0 };
}

export async function findScoresByTraceIds(db: Kysely<Database>, scope: Scope, traceIds: readonly string[]): Promise<ScoreRow[]> {
  if (!traceIds.length) return [];
  let q = db.selectFrom('scores').selectAll().where('org_id', '=', scope.orgId).where('trace_id', 'in', [...traceIds]);
  if (scope.projectIds) q = q.where('project_id', 'in', [...scope.projectIds]);
  return q.orderBy('ts').orderBy('id').modifyEnd(sql`/* findScoresByTraceIds */`).execute();
}
