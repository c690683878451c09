/* Score aggregations over the raw join and the score rollups: shared by quality reports and compareModels. */
import type { Kysely } from 'kysely';
import type { Scope } from '../auth/viewer';
import type { Database } from '../db/schema';
import { traceConditionsSql, type TraceFilter } from './trace-filter';
import { RAW_DIMENSION_SQL, type Dimension } from './dimensions';
import type { Interval } from './intervals';
import { bucketSql } from './calendar-buckets';
import type { SourcePiece } from './source-plan';
import { sql, unionAll } from './sql-text';

/** Scores of traces matching the filter: the join carries the tenant scope on both sides. */
function scoredTraces(scope: Scope, filter: TraceFilter, names: readonly string[] | null) {
  return sql`scores s JOIN traces ON traces.id = s.trace_id AND traces.org_id = s.org_id
    WHERE s.org_id = ${scope.orgId} AND ${traceConditionsSql(scope, filter)}
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
  q: { scope: Scope; filter: TraceFilter; names: readonly string[] | null; dims: readonly Dimension[]; interval: Interval | null; timeZone?: string },
): Promise<ScoreAggRow[]> {
  const [d0, d1, d2] = dimSql(q.dims).map((s) => sql.raw(s));
  const t = bucketSql(q.interval, 'traces.ts', q.timeZone);
  const { rows } = await sql<ScoreAggRow>`
    SELECT s.name, ${t} AS t, ${d0} AS d0, ${d1} AS d1, ${d2} AS d2,
           count(*)::float8 AS n, count(s.value)::float8 AS value_n, coalesce(sum(s.value), 0) AS value_sum,
           min(s.value) AS value_min, max(s.value) AS value_max
      FROM ${scoredTraces(q.scope, q.filter, q.names)}
     GROUP BY 1, 2, 3, 4, 5 /* sumScoresByName */`.execute(db);
  return rows;
}

/**
 * The score bin (1..10) of `v.value` over its name's `r.lo`..`r.hi`, as width_bucket() would give
 * it, but computed in numeric: PostgreSQL's float8 width_bucket rounds differently across versions
 * (15 puts 0.831 over 0.662..1.507 in bin 2, 17 — the embedded build — in bin 3), so a value on a
 * bin edge landed in different bins in the two storage modes. The float8 → numeric cast keeps the
 * value's 15 significant digits, so an edge value is on its edge exactly and goes to the upper bin,
 * the maximum to bin 10; a name with one distinct value has all of it in bin 1.
 */
const SCORE_BIN = sql`least(floor((v.value::numeric - r.lo::numeric) * 10 / CASE WHEN r.hi > r.lo THEN r.hi::numeric - r.lo::numeric ELSE 1 END)::int + 1, 10)`;

export async function countScoreBins(
  db: Kysely<Database>,
  q: { scope: Scope; filter: TraceFilter; names: readonly string[] | null },
): Promise<{ name: string; bin: number; lower: number; upper: number; n: number }[]> {
  const { rows } = await sql<{ name: string; bin: number; lower: number; upper: number; n: number }>`
    WITH v AS (SELECT s.name, s.value FROM ${scoredTraces(q.scope, q.filter, q.names)} AND s.value IS NOT NULL),
         r AS (SELECT name, min(value) AS lo, max(value) AS hi FROM v GROUP BY name)
    SELECT v.name, ${SCORE_BIN} AS bin,
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

/*
 * Score reports from the score rollups. A plan (per family: scores, score_values,
 * scored_traces) cuts the range into rollup pieces and raw edges; raw edges read the scores
 * table alone, by the trace time and dimensions each score carries. All pieces of one question
 * go into one statement (UNION ALL) and are summed in SQL.
 */

export interface ScorePlanQuery {
  scope: Scope;
  /** Only the filters the rollups carry (projects, providers, models, environments). */
  filter: TraceFilter;
  names: readonly string[] | null;
  dims: readonly Dimension[];
  interval: Interval | null;
  /** IANA zone of calendar buckets; default UTC. */
  timeZone?: string;
}

const SCORE_DIM_SQL: Partial<Record<Dimension, string>> = {
  MODEL: 'model',
  PROVIDER: 'provider',
  PROJECT: 'project_id',
  ENVIRONMENT: 'environment',
};

function pieceConds(q: ScorePlanQuery, piece: SourcePiece, opts: { names: boolean }) {
  const raw = piece.source === 'traces';
  const time = sql.ref(raw ? 'trace_ts' : 'bucket');
  const c = [sql`org_id = ${q.scope.orgId}`, sql`${time} >= ${piece.from}`, sql`${time} < ${piece.to}`];
  if (raw) c.push(sql`model IS NOT NULL`);
  const f = q.filter;
  const inList = (col: string, v: readonly string[] | undefined) => v && c.push(sql`${sql.ref(col)} = ANY(${[...v]}::text[])`);
  inList('project_id', q.scope.projectIds ?? undefined);
  inList('project_id', f.projectIds);
  inList('provider', f.providers);
  inList('model', f.models);
  inList('environment', f.environments);
  if (opts.names && q.names) c.push(sql`name = ANY(${[...q.names]}::text[])`);
  return sql.join(c, sql` AND `);
}

function pieceTime(q: ScorePlanQuery, piece: SourcePiece) {
  const col = piece.source === 'traces' ? 'trace_ts' : 'bucket';
  return bucketSql(q.interval, col, q.timeZone);
}

function pieceDims(q: ScorePlanQuery) {
  const out = [];
  for (let i = 0; i < 3; i++) {
    const d = q.dims[i];
    const col = d ? SCORE_DIM_SQL[d] : null;
    if (d && !col) throw new Error(`dimension ${d} is not carried by scores`);
    out.push(sql.raw(col ? `(${col})::text` : 'NULL::text'));
  }
  return out;
}

export const scoreDimensionsCarried = (dims: readonly Dimension[]) => dims.every((d) => SCORE_DIM_SQL[d] !== undefined);

/** Count, value count, sum, min and max per (name, time bucket, group). */
export async function sumScoresPlanned(db: Kysely<Database>, q: ScorePlanQuery, pieces: readonly SourcePiece[]): Promise<ScoreAggRow[]> {
  if (!pieces.length) return [];
  const [d0, d1, d2] = pieceDims(q);
  const parts = pieces.map((p) =>
    p.source === 'traces'
      ? sql`SELECT name, ${pieceTime(q, p)} AS t, ${d0} AS d0, ${d1} AS d1, ${d2} AS d2, 1::float8 AS n,
                   (value IS NOT NULL)::int::float8 AS value_n, value AS value_sum, value AS value_min, value AS value_max
              FROM scores WHERE ${pieceConds(q, p, { names: true })}`
      : sql`SELECT name, ${pieceTime(q, p)} AS t, ${d0} AS d0, ${d1} AS d1, ${d2} AS d2, score_count::float8 AS n,
                   value_count::float8 AS value_n, value_sum, value_min, value_max
              FROM ${sql.table(p.source)} WHERE ${pieceConds(q, p, { names: true })}`,
  );
  const { rows } = await sql<ScoreAggRow>`
    SELECT name, t, d0, d1, d2, sum(n) AS n, sum(value_n) AS value_n, coalesce(sum(value_sum), 0) AS value_sum,
           min(value_min) AS value_min, max(value_max) AS value_max
      FROM (${unionAll(parts)}) u
     GROUP BY 1, 2, 3, 4, 5 /* sumScoresPlanned */`.execute(db);
  return rows;
}

/** Label counts per name. */
export async function countScoreLabelsPlanned(db: Kysely<Database>, q: ScorePlanQuery, pieces: readonly SourcePiece[]) {
  if (!pieces.length) return [];
  const parts = pieces.map((p) =>
    p.source === 'traces'
      ? sql`SELECT name, label, 1::float8 AS n FROM scores WHERE ${pieceConds(q, p, { names: true })} AND label IS NOT NULL`
      : sql`SELECT name, label, score_count::float8 AS n FROM ${sql.table(p.source)} WHERE ${pieceConds(q, p, { names: true })} AND label IS NOT NULL`,
  );
  const { rows } = await sql<{ name: string; label: string; n: number }>`
    SELECT name, label, sum(n) AS n FROM (${unionAll(parts)}) u GROUP BY 1, 2 /* countScoreLabelsPlanned */`.execute(db);
  return rows;
}

/** The 10 bins over each name's min..max, from exact value counts (same numbers as countScoreBins). */
export async function countScoreBinsPlanned(db: Kysely<Database>, q: ScorePlanQuery, pieces: readonly SourcePiece[]) {
  if (!pieces.length) return [];
  const parts = pieces.map((p) =>
    p.source === 'traces'
      ? sql`SELECT name, value, 1::float8 AS n FROM scores WHERE ${pieceConds(q, p, { names: true })} AND value IS NOT NULL`
      : sql`SELECT name, value, value_count::float8 AS n FROM ${sql.table(p.source)} WHERE ${pieceConds(q, p, { names: true })}`,
  );
  const { rows } = await sql<{ name: string; bin: number; lower: number; upper: number; n: number }>`
    WITH v AS (SELECT name, value, sum(n) AS n FROM (${unionAll(parts)}) u GROUP BY 1, 2),
         r AS (SELECT name, min(value) AS lo, max(value) AS hi FROM v GROUP BY name)
    SELECT v.name, ${SCORE_BIN} AS bin,
           r.lo AS lower, r.hi AS upper, sum(v.n) AS n
      FROM v JOIN r USING (name)
     GROUP BY 1, 2, 3, 4 /* countScoreBinsPlanned */`.execute(db);
  return rows;
}

/** Traces with a score and with a human score (each trace lies in one rollup cell, so cells add up). */
export async function countScoredTracesPlanned(db: Kysely<Database>, q: ScorePlanQuery, pieces: readonly SourcePiece[]) {
  if (!pieces.length) return { scored: 0, human: 0 };
  const parts = pieces.map((p) =>
    p.source === 'traces'
      ? sql`SELECT count(DISTINCT trace_id)::float8 AS scored, count(DISTINCT trace_id) FILTER (WHERE source = 'human')::float8 AS human
              FROM scores WHERE ${pieceConds(q, p, { names: false })}`
      : sql`SELECT coalesce(sum(scored_traces), 0)::float8 AS scored, coalesce(sum(human_traces), 0)::float8 AS human
              FROM ${sql.table(p.source)} WHERE ${pieceConds(q, p, { names: false })}`,
  );
  const { rows } = await sql<{ scored: number; human: number }>`
    SELECT coalesce(sum(scored), 0)::float8 AS scored, coalesce(sum(human), 0)::float8 AS human
      FROM (${unionAll(parts)}) u /* countScoredTracesPlanned */`.execute(db);
  return rows[0] ?? { scored: 0, human: 0 };
}
