import { expressionBuilder, sql, type Kysely, type SqlBool } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database } from '../../db/schema';
import { traceConditions, type TraceFilter } from '../traces/traces.repository';
import type { SessionParent } from './sessions.mappers';

const SESSION_COLUMNS = sql`
  session_id,
  min(user_id) AS user_id,
  min(project_id) AS project_id,
  count(*)::float8 AS trace_count,
  min(ts) AS first_seen,
  max(ts) AS last_seen,
  coalesce(sum(total_cost_usd), 0)::float8 AS total_cost,
  coalesce(sum(total_tokens), 0)::float8 AS total_tokens,
  count(*) FILTER (WHERE status_code >= 400)::float8 AS error_count,
  to_char(max(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS last_key`;

/** Sessions active in the filter's range, most recently active first, keyset on (last_seen, id). */
export async function findSessions(
  db: Kysely<Database>,
  q: { scope: Scope; filter: TraceFilter; limit: number; after: { ts: string; id: string } | null },
): Promise<SessionParent[]> {
  const eb = expressionBuilder<Database, 'traces'>();
  const { rows } = await sql<SessionParent>`
    SELECT ${SESSION_COLUMNS}
      FROM traces
     WHERE session_id IS NOT NULL AND ${traceConditions(eb, q.scope, q.filter)}
     GROUP BY session_id
    ${q.after ? sql`HAVING (max(ts), session_id) < (${q.after.ts}::timestamptz, ${q.after.id})` : sql``}
     ORDER BY max(ts) DESC, session_id DESC
     LIMIT ${q.limit} /* findSessions */`.execute(db);
  return rows;
}

export async function findSessionsByIds(db: Kysely<Database>, scope: Scope, ids: readonly string[]): Promise<SessionParent[]> {
  if (!ids.length) return [];
  const eb = expressionBuilder<Database, 'traces'>();
  const { rows } = await sql<SessionParent>`
    SELECT ${SESSION_COLUMNS}
      FROM traces
     WHERE session_id = ANY(${[...ids]}::text[]) AND ${traceConditions(eb, scope, {}) as unknown as SqlBool}
     GROUP BY session_id /* findSessionsByIds */`.execute(db);
  return rows;
}
