import type { Config } from '../../config';
import type { DatabaseHandle } from '../../db/database';
import { withStatementTimeout } from '../../db/database';
import type { Scope } from '../../auth/viewer';
import { badInput } from '../../shared/errors';
import { decodeCursor, encodeCursor, isUuid } from './cursor';
import { parseSearchTerms } from './search-terms';
import { pageFlags, resolvePageArgs, type PageArgs } from '../../shared/page-args';
import type { TraceConnectionParent } from './traces.mappers';
import { looksLikeW3cTraceId, w3cTraceId } from '../../query/w3c-trace-id';
import { normalizeTraceFilter, type TraceFilterInput } from '../../query/trace-filter-input';

// The filter's validation moved to src/query/trace-filter-input.ts; re-exported for existing callers.
export { normalizeTraceFilter, type TraceFilterInput } from '../../query/trace-filter-input';
import { countTraces, findRootSpanOfTrace, findTraces, findTracesByIds, searchIndexingOf, type SortDirection, type TraceFilter, type TraceOrderField } from './traces.repository';

export const MAX_PAGE_SIZE = 1000;

const SORT_VALUE = {
  TIMESTAMP: () => null,
  COST: (r: { total_cost_usd: string }) => r.total_cost_usd,
  DURATION: (r: { duration_ms: number }) => r.duration_ms,
  TOKENS: (r: { total_tokens: number }) => r.total_tokens,
} as const;

export async function listTraces(
  deps: { database: DatabaseHandle; config: Config },
  scope: Scope,
  args: PageArgs & {
    filter?: TraceFilterInput | null;
    orderBy?: { field?: TraceOrderField | null; direction?: SortDirection | null } | null;
    /** Text search (searchTraces); newest first. */
    search?: string;
    /** Fixed extra conditions (e.g. a session's traces), merged over the user's filter. */
    baseFilter?: Partial<TraceFilter>;
  },
): Promise<TraceConnectionParent> {
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
  const { rows, beyond } = await withStatementTimeout(deps.database, deps.database.readDb, terms ? 'aggregate' : 'simple', async (trx) => {
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
  const out = kept.map((r) => {
    const { ts_key, ...row } = r;
    const value = SORT_VALUE[orderBy](r as never);
    return { ...row, cursor: encodeCursor({ ordering, value, ts: ts_key, id: r.id }) };
  });
  return { rows: out, ...pageFlags(page, rows.length, beyond), scope, filter, search: terms };
}

export async function countMatchingTraces(database: DatabaseHandle, parent: TraceConnectionParent): Promise<number> {
  return withStatementTimeout(database, database.readDb, 'aggregate', (trx) => countTraces(trx, parent.scope, parent.filter, parent.search, searchIndexingOf(database.mode)));
}

/**
 * `trace(id:)` takes either form of id: a row's UUID (`Trace.id`), or a W3C trace id (32 hex,
 * `Trace.traceId`), which answers the trace's root span (the one without a parent; else the
 * earliest) — its `related` and `children` reach the rest of the trace.
 */
export async function getTrace(database: DatabaseHandle, scope: Scope, id: string) {
  if (looksLikeW3cTraceId(id)) {
    const traceId = w3cTraceId(id, 'id');
    return withStatementTimeout(database, database.readDb, 'simple', (trx) => findRootSpanOfTrace(trx, scope, traceId));
  }
  if (!isUuid(id)) {
    throw badInput('id must be a span\'s id (a UUID, Trace.id) or a W3C trace id (32 hexadecimal characters, Trace.traceId)', { argument: 'id' });
  }
  const rows = await withStatementTimeout(database, database.readDb, 'simple', (trx) => findTracesByIds(trx, scope, [id]));
  return rows[0] ?? null;
}
