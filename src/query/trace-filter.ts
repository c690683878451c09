import { sql, type ExpressionBuilder, type Expression, type SqlBool } from 'kysely';
import type { Scope } from '../auth/viewer';
import type { Database } from '../db/schema';
import { tenantConditions } from './tenant-scope';

/**
 * The trace filter as a where-clause: the tenant boundary, every filter field and the search
 * condition. Shared by every module that reads `traces` (traces, sessions, metrics, quality,
 * exports); it imports no module.
 */

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

type TracesEB = ExpressionBuilder<Database, 'traces'>;

/** The tenant boundary and every filter, as one condition. Scope is not optional. */
export function traceConditions(eb: TracesEB, scope: Scope, f: TraceFilter): Expression<SqlBool> {
  const c: Expression<SqlBool>[] = tenantConditions(eb, scope);
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
