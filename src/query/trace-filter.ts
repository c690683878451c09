import { sql, type ExpressionBuilder, type Expression, type SqlBool } from 'kysely';
import type { Scope } from '../auth/viewer';
import type { Database } from '../db/schema';
import { tenantTerms, type TraceColumn, type TraceTerm } from './tenant-scope';
import { Sql, sql as text } from './sql-text';

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

/** The tenant boundary and every filter field, as conditions on `traces` columns (ANDed). */
export function traceTerms(scope: Scope, f: TraceFilter): TraceTerm[] {
  const c = tenantTerms(scope);
  const add = (column: TraceColumn, op: '=' | '<' | '>=' | '<=' | 'in', value: unknown) => c.push({ column, op, value });
  if (f.from) add('ts', '>=', f.from);
  if (f.to) add('ts', '<', f.to);
  if (f.projectIds) add('project_id', 'in', [...f.projectIds]);
  if (f.providers) add('provider', 'in', [...f.providers]);
  if (f.models) add('model', 'in', [...f.models]);
  if (f.userIds) add('user_id', 'in', [...f.userIds]);
  if (f.sessionIds) add('session_id', 'in', [...f.sessionIds]);
  if (f.traceIds) add('trace_id', 'in', [...f.traceIds]);
  if (f.environments) add('environment', 'in', [...f.environments]);
  if (f.operations) add('operation', 'in', [...f.operations]);
  if (f.status === 'OK') add('status_code', '<', 400);
  if (f.status === 'ERROR') add('status_code', '>=', 400);
  if (f.statusCodes) add('status_code', 'in', [...f.statusCodes]);
  if (f.tags) c.push({ column: 'tags', op: 'contains', value: [...f.tags] });
  if (f.minCostUsd != null) add('total_cost_usd', '>=', String(f.minCostUsd));
  if (f.maxCostUsd != null) add('total_cost_usd', '<=', String(f.maxCostUsd));
  if (f.minDurationMs != null) add('duration_ms', '>=', f.minDurationMs);
  if (f.maxDurationMs != null) add('duration_ms', '<=', f.maxDurationMs);
  if (f.minTokens != null) add('total_tokens', '>=', f.minTokens);
  if (f.maxTokens != null) add('total_tokens', '<=', f.maxTokens);
  // issue 17 (groups): error types
  if (f.errorTypes) add('error_type', 'in', [...f.errorTypes]);
  return c;
}

/** The tenant boundary and every filter, as one condition (Kysely). Scope is not optional. */
export function traceConditions(eb: TracesEB, scope: Scope, f: TraceFilter): Expression<SqlBool> {
  return eb.and(
    traceTerms(scope, f).map((t) =>
      t.op === 'contains'
        ? sql<SqlBool>`traces.tags @> ${sql.val(t.value)}::text[]`
        : eb(`traces.${t.column}` as 'traces.org_id', t.op, t.value as never),
    ),
  );
}

/** The same condition for the report statements (src/query/sql-text.ts): `(traces.a = $1 AND traces.b IN ($2, $3) …)`. */
export function traceConditionsSql(scope: Scope, f: TraceFilter): Sql {
  return termsSql(traceTerms(scope, f), 'traces.');
}

/** Conditions as one parenthesised AND of bound values; `prefix` qualifies the (whitelisted) column names. */
export function termsSql(terms: readonly TraceTerm[], prefix = ''): Sql {
  return new Sql(['(', text.join(terms.map((t) => termSql(t, prefix)), AND), ')']);
}

const AND = text.raw(' AND ');

function termSql(t: TraceTerm, prefix: string): Sql {
  const col = `${prefix}${t.column}`;
  if (t.op === 'contains') return text`${text.raw(col)} @> ${t.value}::text[]`;
  if (t.op !== 'in') return text`${text.raw(`${col} ${t.op} `)}${t.value}`;
  const values = t.value as readonly unknown[];
  if (!values.length) return text.raw('false');
  return new Sql([`${col} IN (`, text.join(values.map((v) => text.val(v))), ')']);
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
