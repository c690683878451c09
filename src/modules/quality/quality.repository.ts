import { sql, type Kysely } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database, ScoreRow } from '../../db/schema';

// Score aggregations (sums, bins, labels, scored traces, planned or raw) are in src/query/score-stats.repository.ts.

export async function findScoresByTraceIds(db: Kysely<Database>, scope: Scope, traceIds: readonly string[]): Promise<ScoreRow[]> {
  if (!traceIds.length) return [];
  let q = db.selectFrom('scores').selectAll().where('org_id', '=', scope.orgId).where('trace_id', 'in', [...traceIds]);
  if (scope.projectIds) q = q.where('project_id', 'in', [...scope.projectIds]);
  return q.orderBy('ts').orderBy('id').modifyEnd(sql`/* findScoresByTraceIds */`).execute();
}
