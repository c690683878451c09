import { expressionBuilder, sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database } from '../../db/schema';
import { traceConditions, type TraceFilter } from '../../query/trace-filter';
import type { SessionParent } from './sessions.mappers';

/**
 * A session is aggregated in two steps: per (session, project) over the visible traces, then
 * per session. The first step is what makes `project_id` well-defined for a session spanning
 * projects: its main project, the one with the most traces, ties to the project whose first
 * trace came first (then the smaller id). `project_ids` lists them all.
 */
const sessionsOver = (where: RawBuilder<unknown>) => sql`
  WITH per_project AS (
    SELECT session_id, project_id, min(user_id) AS user_id, count(*) AS n, min(ts) AS first_ts, max(ts) AS last_ts,
           coalesce(sum(total_cost_usd), 0) AS cost, coalesce(sum(total_tokens), 0) AS tokens,
           count(*) FILTER (WHERE status_code >= 400) AS errors
      FROM traces
     WHERE ${where}
     GROUP BY session_id, project_id)
  SELECT session_id,
         min(user_id) AS user_id,
         (array_agg(project_id ORDER BY n DESC, first_ts ASC, project_id ASC))[1] AS project_id,
         array_agg(project_id ORDER BY project_id) AS project_ids,
         sum(n)::float8 AS trace_count,
         min(first_ts) AS first_seen,
         max(last_ts) AS last_seen,
         sum(cost)::float8 AS total_cost,
         sum(tokens)::float8 AS total_tokens,
         sum(errors)::float8 AS error_count,
         to_char(max(last_ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last_key
    FROM per_project
   GROUP BY session_id`;

/**
 * Sessions active in the filter's range, keyset on (last_seen, id): most recently active first
 * (DESC, the connection's order), or the other way (ASC, for backward pages); `inclusive` keeps
 * the cursor's own session (PageInfo's look at the other side of a cursor).
 */
export async function findSessions(
  db: Kysely<Database>,
  q: { scope: Scope; filter: TraceFilter; limit: number; after: { ts: string; id: string } | null; direction?: 'ASC' | 'DESC'; inclusive?: boolean },
): Promise<SessionParent[]> {
  const eb = expressionBuilder<Database, 'traces'>();
  const asc = q.direction === 'ASC';
  const cmp = sql.raw((asc ? '>' : '<') + (q.inclusive ? '=' : ''));
  const dir = sql.raw(asc ? 'ASC' : 'DESC');
  const { rows } = await sql<SessionParent>`
    ${sessionsOver(sql`session_id IS NOT NULL AND ${traceConditions(eb, q.scope, q.filter)}`)}
    ${q.after ? sql`HAVING (max(last_ts), session_id) ${cmp} (${q.after.ts}::timestamptz, ${q.after.id})` : sql``}
     ORDER BY max(last_ts) ${dir}, session_id ${dir}
     LIMIT ${q.limit} /* findSessions */`.execute(db);
  return rows;
}

export async function findSessionsByIds(db: Kysely<Database>, scope: Scope, ids: readonly string[]): Promise<SessionParent[]> {
  if (!ids.length) return [];
  const eb = expressionBuilder<Database, 'traces'>();
  const { rows } = await sql<SessionParent>`
    ${sessionsOver(sql`session_id = ANY(${[...ids]}::text[]) AND ${traceConditions(eb, scope, {}) as unknown as SqlBool}`)} /* findSessionsByIds */`.execute(db);
  return rows;
}
