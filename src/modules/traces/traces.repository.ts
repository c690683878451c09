import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database, TraceRow } from '../../db/schema';
import type { CursorPosition } from './cursor';
import { searchCondition, traceConditions, type SearchIndexing, type TraceFilter } from '../../query/trace-filter';

// The filter type and search helpers moved to src/query/trace-filter.ts; re-exported for existing callers.
export { searchIndexingOf, type TraceFilter } from '../../query/trace-filter';

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
