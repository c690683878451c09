import { sql, type ExpressionBuilder, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database, TraceRow } from '../../db/schema';
import type { CursorPosition } from './cursor';

/** A filter after validation: dates resolved, lists non-empty or absent. */
export interface TraceFilter {
  from?: Date;
  to?: Date;
  projectIds?: readonly string[];
  providers?: readonly string[];
  models?: readonly string[];
  userIds?: readonly string[];
  sessionIds?: readonly string[];
  /** W3C trace ids, lower-case (validated by the service). */
  traceIds?: readonly string[];
  environments?: readonly string[];
  operations?: readonly string[];
  status?: 'OK' | 'ERROR';
  statusCodes?: readonly number[];
  tags?: readonly string[];
  minCostUsd?: number;
  maxCostUsd?: number;
  minDurationMs?: number;
  maxDurationMs?: number;
  minTokens?: number;
  maxTokens?: number;
  // issue 17 (groups): error types
  errorTypes?: readonly string[];
}

export type TraceOrderField = 'TIMESTAMP' | 'COST' | 'DURATION' | 'TOKENS';
export type SortDirection = 'ASC' | 'DESC';

const ORDER_COLUMN = {
  TIMESTAMP: null,
  COST: 'total_cost_usd',
  DURATION: 'duration_ms',
  TOKENS: 'total_tokens',
} as const;

/** A trace row plus the exact sort-key text the cursor needs. */
export type TraceRowWithKey = TraceRow & { ts_key: string };

type TracesEB = ExpressionBuilder<Database, 'traces'>;

/** The tenant boundary and every filter, as one condition. Scope is not optional. */
export function traceConditions(eb: TracesEB, scope: Scope, f: TraceFilter): Expression<SqlBool> {
  const c: Expression<SqlBool>[] = [eb('traces.org_id', '=', scope.orgId)];
  if (scope.projectIds) c.push(eb('traces.project_id', 'in', [...scope.projectIds]));
  if (f.from) c.push(eb('traces.ts', '>=', f.from));
  if (f.to) c.push(eb('traces.ts', '<', f.to));
  if (f.projectIds) c.push(eb('traces.project_id', 'in', [...f.projectIds]));
  if (f.providers) c.push(eb('traces.provider', 'in', [...f.providers]));
  if (f.models) c.push(eb('traces.model', 'in', [...f.models]));
  if (f.userIds) c.push(eb('traces.user_id', 'in', [...f.userIds]));
  if (f.sessionIds) c.push(eb('traces.session_id', 'in', [...f.sessionIds]));
  if (f.traceIds) c.push(eb('traces.trace_id', 'in', [...f.traceIds]));
  if (f.environments) c.push(eb('traces.environment', 'in', [...f.environments]));
  if (f.operations) c.push(eb('traces.operation', 'in', [...f.operations]));
  if (f.status === 'OK') c.push(eb('traces.status_code', '<', 400));
  if (f.status === 'ERROR') c.push(eb('traces.status_code', '>=', 400));
  if (f.statusCodes) c.push(eb('traces.status_code', 'in', [...f.statusCodes]));
  if (f.tags) c.push(sql<SqlBool>`traces.tags @> ${sql.val([...f.tags])}::text[]`);
  if (f.minCostUsd != null) c.push(eb('traces.total_cost_usd', '>=', String(f.minCostUsd)));
  if (f.maxCostUsd != null) c.push(eb('traces.total_cost_usd', '<=', String(f.maxCostUsd)));
  if (f.minDurationMs != null) c.push(eb('traces.duration_ms', '>=', f.minDurationMs));
  if (f.maxDurationMs != null) c.push(eb('traces.duration_ms', '<=', f.maxDurationMs));
  if (f.minTokens != null) c.push(eb('traces.total_tokens', '>=', f.minTokens));
  if (f.maxTokens != null) c.push(eb('traces.total_tokens', '<=', f.maxTokens));
  // issue 17 (groups): error types
  if (f.errorTypes) c.push(eb('traces.error_type', 'in', [...f.errorTypes]));
  return eb.and(c);
}

const TS_KEY = sql<string>`to_char(traces.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** One page in keyset order; fetches `limit` rows (callers ask one extra to learn hasNextPage). */
export async function findTraces(
  db: Kysely<Database>,
  q: {
    scope: Scope;
    filter: TraceFilter;
    orderBy: TraceOrderField;
    direction: SortDirection;
    limit: number;
    after: CursorPosition | null;
    /** Include the cursor's own row (PageInfo's look at the other side of a cursor). */
    inclusive?: boolean;
    search?: readonly string[];
    searchIndexing?: SearchIndexing;
  },
): Promise<TraceRowWithKey[]> {
  const col = ORDER_COLUMN[q.orderBy];
  const cmp = (q.direction === 'DESC' ? '<' : '>') + (q.inclusive ? '=' : '');
  const dir = q.direction === 'DESC' ? sql`DESC` : sql`ASC`;
  let query = db
    .selectFrom('traces')
    .selectAll('traces')
    .select(TS_KEY.as('ts_key'))
    .where((eb) => traceConditions(eb, q.scope, q.filter))
    .modifyEnd(q.search === undefined ? sql`/* findTraces */` : sql`/* searchTraces */`);
  if (q.search !== undefined) query = query.where(searchCondition(q.search, q.searchIndexing));
  if (q.after) {
    const a = q.after;
    query = col
      ? query.where(sql<SqlBool>`(${sql.ref(`traces.${col}`)}, traces.ts, traces.id) ${sql.raw(cmp)} (${a.value}, ${a.ts}::timestamptz, ${a.id}::uuid)`)
      : query.where(sql<SqlBool>`(traces.ts, traces.id) ${sql.raw(cmp)} (${a.ts}::timestamptz, ${a.id}::uuid)`);
  }
  if (col) query = query.orderBy(sql`${sql.ref(`traces.${col}`)} ${dir}`);
  return (await query
    .orderBy(sql`traces.ts ${dir}`)
    .orderBy(sql`traces.id ${dir}`)
    .limit(q.limit)
    .execute()) as TraceRowWithKey[];
}

export async function countTraces(
  db: Kysely<Database>,
  scope: Scope,
  filter: TraceFilter,
  search?: readonly string[],
  searchIndexing: SearchIndexing = 'inline',
): Promise<number> {
  const row = await db
    .selectFrom('traces')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where((eb) => traceConditions(eb, scope, filter))
    .$if(search !== undefined, (qb) => qb.where(searchCondition(search as readonly string[], searchIndexing)))
    .modifyEnd(sql`/* countTraces */`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function findTracesByIds(db: Kysely<Database>, scope: Scope, ids: readonly string[]): Promise<TraceRow[]> {
  if (!ids.length) return [];
  return db
    .selectFrom('traces')
    .selectAll()
    .where((eb) => traceConditions(eb, scope, {}))
    .where('id', 'in', [...ids])
    .modifyEnd(sql`/* findTracesByIds */`)
    .execute();
}

export async function findSpansByTraceIds(db: Kysely<Database>, scope: Scope, traceIds: readonly string[]): Promise<TraceRow[]> {
  if (!traceIds.length) return [];
  return db
    .selectFrom('traces')
    .selectAll()
    .where((eb) => traceConditions(eb, scope, {}))
    .where('trace_id', 'in', [...traceIds])
    .orderBy('ts')
    .orderBy('id')
    .modifyEnd(sql`/* findSpansByTraceIds */`)
    .execute();
}

/** The root span of one W3C trace in scope: parentless first, then the earliest (traces_trace_id_idx). */
export async function findRootSpanOfTrace(db: Kysely<Database>, scope: Scope, traceId: string): Promise<TraceRow | null> {
  const row = await db
    .selectFrom('traces')
    .selectAll()
    .where((eb) => traceConditions(eb, scope, {}))
    .where('trace_id', '=', traceId)
    .orderBy(sql`parent_span_id IS NULL`, 'desc')
    .orderBy('ts')
    .orderBy('id')
    .limit(1)
    .modifyEnd(sql`/* findRootSpanOfTrace */`)
    .executeTakeFirst();
  return row ?? null;
}

/** Escapes LIKE wildcards so the user's text matches literally. */
export const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Where the trigram index of search lives (migration 20261215010000_deferred_search). */
export type SearchIndexing = 'inline' | 'deferred';
/** Plain PostgreSQL indexes search off the write path; TimescaleDB modes on `traces` itself. */
export const searchIndexingOf = (mode: string): SearchIndexing => (mode === 'postgres' ? 'deferred' : 'inline');

const SEARCH_VALUES = (t: string) =>
  sql`trace_search_values(${sql.ref(`${t}.input`)}, ${sql.ref(`${t}.output`)}, ${sql.ref(`${t}.model`)}, ${sql.ref(`${t}.user_id`)}, ${sql.ref(`${t}.metadata`)})`;
const allLike = (expr: ReturnType<typeof sql>, terms: readonly string[]) =>
  sql.join(terms.map((t) => sql`${expr} LIKE ${likePattern(t)}`), sql` AND `);

/**
 * Values only, field by field (migration 20261203130000_value_search): the indexed expression
 * joins the fields and metadata values with U+001F, which a search term never contains, so
 * each term matches inside one value. Terms are ANDed (each may match a different value).
 *
 * - inline (TimescaleDB, embedded): every LIKE is on the one trigram-indexed expression of `traces`.
 * - deferred (plain PostgreSQL): the indexed rows through `trace_search` (same values, trigram
 *   index) ∪ the rows not indexed yet (`trace_search_pending`), their values computed and
 *   matched exactly. One statement, one snapshot, and the indexer moves a row from one set to
 *   the other in one transaction: each row is matched exactly once, from its commit on.
 */
export function searchCondition(terms: readonly string[], indexing: SearchIndexing = 'inline') {
  if (indexing === 'inline') return sql<SqlBool>`(${allLike(SEARCH_VALUES('traces'), terms)})`;
  return sql<SqlBool>`traces.id IN (
      SELECT s.id FROM trace_search s WHERE ${allLike(sql`s.v`, terms)}
      UNION ALL
      SELECT p.id FROM trace_search_pending p JOIN traces tail ON tail.id = p.id WHERE ${allLike(SEARCH_VALUES('tail'), terms)})`;
}

/**
 * The first `limit` traces of each of many sessions (in `direction` of time) in one statement:
 * a page of `Session.traces` for a whole page of sessions (loaders/traces-by-session.ts).
 */
export async function findTracesOfSessions(
  db: Kysely<Database>,
  q: { scope: Scope; filter: TraceFilter; sessionIds: readonly string[]; direction: SortDirection; limit: number },
): Promise<TraceRowWithKey[]> {
  if (!q.sessionIds.length) return [];
  const dir = q.direction === 'DESC' ? sql`DESC` : sql`ASC`;
  const ranked = db
    .selectFrom('traces')
    .selectAll('traces')
    .select(TS_KEY.as('ts_key'))
    .select(sql<number>`row_number() OVER (PARTITION BY traces.session_id ORDER BY traces.ts ${dir}, traces.id ${dir})`.as('session_rank'))
    .where((eb) => traceConditions(eb, q.scope, { ...q.filter, sessionIds: q.sessionIds }));
  const rows = await db
    .selectFrom(ranked.as('ranked'))
    .selectAll()
    .where('session_rank', '<=', q.limit)
    .orderBy('session_id')
    .orderBy('session_rank')
    .modifyEnd(sql`/* findTracesOfSessions */`)
    .execute();
  return rows.map(({ session_rank: _rank, ...row }) => row as TraceRowWithKey);
}
