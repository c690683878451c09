import type { Config } from '../../config';
import type { ServiceContext } from '../../context';
import { withTimedRead } from '../../db/database';
import { badInput } from '../../shared/errors';
import { decodeCursor, encodeCursor, isUuid } from './cursor';
import { parseSearchTerms } from './search-terms';
import { pageFlags, resolvePageArgs, type PageArgs } from '../../shared/page-args';
import type { TraceConnectionParent } from './traces.mappers';
import { looksLikeW3cTraceId, w3cTraceId } from '../../query/w3c-trace-id';
import { normalizeTraceFilter, type TraceFilterInput } from '../../query/trace-filter-input';

// The filter's validation moved to src/query/trace-filter-input.ts; re-exported for existing callers.
export { normalizeTraceFilter, type TraceFilterInput } from '../../query/trace-filter-input';
import { countTraces, findRootSpanOfTrace, findTraces, findTracesByIds, findTracesOfSessions, searchIndexingOf, type SortDirection, type TraceFilter, type TraceOrderField, type TraceRowWithKey } from './traces.repository';

/** Defined once for every connection and for pricing (src/shared/page-size.ts). */
export { MAX_PAGE_SIZE } from '../../shared/page-size';

const SORT_VALUE = {
  TIMESTAMP: () => null,
  COST: (r: { total_cost_usd: string }) => r.total_cost_usd,
  DURATION: (r: { duration_ms: number }) => r.duration_ms,
  TOKENS: (r: { total_tokens: number }) => r.total_tokens,
} as const;

export async function listTraces(
  ctx: ServiceContext,
  args: PageArgs & {
    filter?: TraceFilterInput | null;
    orderBy?: { field?: TraceOrderField | null; direction?: SortDirection | null } | null;
    /** Text search (searchTraces); newest first. */
    search?: string;
    /** Fixed extra conditions (e.g. a session's traces), merged over the user's filter. */
    baseFilter?: Partial<TraceFilter>;
  },
): Promise<TraceConnectionParent> {
  const { services: deps, scope } = ctx;
  const terms = args.search !== undefined ? parseSearchTerms(args.search) : undefined;
  const page = resolvePageArgs(args);
  const orderBy = args.orderBy?.field ?? 'TIMESTAMP';
  const direction = args.orderBy?.direction ?? 'DESC';
  const ordering = `${orderBy}:${direction}`;
  const cursor = page.cursor ? decodeCursor(page.cursor, ordering, page.cursorArgument) : null;
  const filter = { ...normalizeTraceFilter(args.filter, deps.config), ...(args.baseFilter ?? {}) };
  // Backward: read the other way from `before` and turn the page round.
  const reverse: SortDirection = direction === 'DESC' ? 'ASC' : 'DESC';
  const reading = page.backward ? reverse : direction;
  const { rows, beyond } = await withTimedRead(deps.database, terms ? 'aggregate' : 'simple', async (trx) => {
    const base = { scope, filter, orderBy, search: terms, searchIndexing: searchIndexingOf(deps.database.mode) };
    const rows = await findTraces(trx, { ...base, direction: reading, limit: page.size + 1, after: cursor });
    // The other side of the cursor, its own row included: is there a page that way?
    const beyond = cursor
      ? (await findTraces(trx, { ...base, direction: page.backward ? direction : reverse, limit: 1, after: cursor, inclusive: true })).length > 0
      : false;
    return { rows, beyond };
  });
  const kept = rows.slice(0, page.size);
  if (page.backward) kept.reverse();
  return { rows: withCursors(kept, orderBy, ordering), ...pageFlags(page, rows.length, beyond), scope, filter, search: terms };
}

function withCursors(rows: readonly TraceRowWithKey[], orderBy: TraceOrderField, ordering: string): TraceConnectionParent['rows'] {
  return rows.map((r) => {
    const { ts_key, ...row } = r;
    const value = SORT_VALUE[orderBy](r as never);
    return { ...row, cursor: encodeCursor({ ordering, value, ts: ts_key, id: r.id }) };
  });
}

/** Session.traces' order: the session as it happened. */
export const SESSION_TRACE_ORDER = { field: 'TIMESTAMP', direction: 'ASC' } as const;

/**
 * The first (or last) page of traces of many sessions from one statement: for each session the
 * connection `listTraces` answers with `baseFilter: { sessionIds: [id] }` and SESSION_TRACE_ORDER.
 * Pages without a cursor only (a cursor belongs to one session: listTraces answers those).
 */
export async function listFirstTracesOfSessions(ctx: ServiceContext, args: PageArgs & { sessionIds: readonly string[] }): Promise<TraceConnectionParent[]> {
  const { services: deps, scope } = ctx;
  const { sessionIds } = args;
  const page = resolvePageArgs(args);
  if (page.cursor) throw new Error('listFirstTracesOfSessions answers pages without a cursor');
  const base = normalizeTraceFilter(undefined, deps.config);
  const rows = await withTimedRead(deps.database, 'simple', (trx) =>
    findTracesOfSessions(trx, { scope, filter: base, sessionIds, direction: page.backward ? 'DESC' : 'ASC', limit: page.size + 1 }),
  );
  const bySession = new Map<string, TraceRowWithKey[]>();
  for (const r of rows) {
    const list = bySession.get(r.session_id!);
    if (list) list.push(r);
    else bySession.set(r.session_id!, [r]);
  }
  const ordering = `${SESSION_TRACE_ORDER.field}:${SESSION_TRACE_ORDER.direction}`;
  return sessionIds.map((id) => {
    const fetched = bySession.get(id) ?? [];
    const kept = fetched.slice(0, page.size);
    if (page.backward) kept.reverse();
    return { rows: withCursors(kept, SESSION_TRACE_ORDER.field, ordering), ...pageFlags(page, fetched.length, false), scope, filter: { ...base, sessionIds: [id] }, search: undefined };
  });
}

export async function countMatchingTraces(ctx: ServiceContext<'database'>, parent: TraceConnectionParent): Promise<number> {
  const { database } = ctx.services;
  return withTimedRead(database, 'aggregate', (trx) => countTraces(trx, parent.scope, parent.filter, parent.search, searchIndexingOf(database.mode)));
}

/**
 * `trace(id:)` takes either form of id: a row's UUID (`Trace.id`), or a W3C trace id (32 hex,
 * `Trace.traceId`), which answers the trace's root span (the one without a parent; else the
 * earliest) — its `related` and `children` reach the rest of the trace.
 */
export async function getTrace(ctx: ServiceContext<'database'>, id: string) {
  const { services: { database }, scope } = ctx;
  if (looksLikeW3cTraceId(id)) {
    const traceId = w3cTraceId(id, 'id');
    return withTimedRead(database, 'simple', (trx) => findRootSpanOfTrace(trx, scope, traceId));
  }
  if (!isUuid(id)) {
    throw badInput('id must be a span\'s id (a UUID, Trace.id) or a W3C trace id (32 hexadecimal characters, Trace.traceId)', { argument: 'id' });
  }
  const rows = await withTimedRead(database, 'simple', (trx) => findTracesByIds(trx, scope, [id]));
  return rows[0] ?? null;
}
