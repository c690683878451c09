import type { Scope } from '../auth/viewer';
import type { Database } from '../db/schema';

/** A column of `traces` a condition reads. */
export type TraceColumn = keyof Database['traces'] & string;

/**
 * One condition on a `traces` column, independent of the SQL builder that writes it (Kysely's
 * expression builder for the lists, src/query/sql-text.ts for the report statements), so the
 * tenant boundary and the filter are defined once.
 */
export type TraceTerm =
  | { readonly column: TraceColumn; readonly op: '=' | '<' | '>=' | '<=' | 'in'; readonly value: unknown }
  | { readonly column: 'tags'; readonly op: 'contains'; readonly value: readonly string[] };

/**
 * The tenant boundary on `traces`: the viewer's org, and its project list when the key is
 * project-scoped. Every read of `traces` starts from these conditions (traceTerms adds the
 * filter to them); scope is never optional.
 */
export function tenantTerms(scope: Scope): TraceTerm[] {
  const c: TraceTerm[] = [{ column: 'org_id', op: '=', value: scope.orgId }];
  if (scope.projectIds) c.push({ column: 'project_id', op: 'in', value: [...scope.projectIds] });
  return c;
}
