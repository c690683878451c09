import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Scope } from '../auth/viewer';
import type { Database } from '../db/schema';

/**
 * The tenant boundary on `traces`: the viewer's org, and its project list when the key is
 * project-scoped. Every read of `traces` starts from these conditions (traceConditions adds the
 * filter to them); scope is never optional.
 */
export function tenantConditions(eb: ExpressionBuilder<Database, 'traces'>, scope: Scope): Expression<SqlBool>[] {
  const c: Expression<SqlBool>[] = [eb('traces.org_id', '=', scope.orgId)];
  if (scope.projectIds) c.push(eb('traces.project_id', 'in', [...scope.projectIds]));
  return c;
}
