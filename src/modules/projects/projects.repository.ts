import { sql, type Kysely } from 'kysely';
import type { Scope } from '../../auth/viewer';
import type { Database, ProjectRow } from '../../db/schema';

export async function findProjectsByIds(db: Kysely<Database>, scope: Scope, ids: readonly string[]): Promise<ProjectRow[]> {
  if (!ids.length) return [];
  let q = db.selectFrom('projects').selectAll().where('org_id', '=', scope.orgId).where('id', 'in', [...ids]);
  if (scope.projectIds) q = q.where('id', 'in', [...scope.projectIds]);
  return q.modifyEnd(sql`/* findProjectsByIds */`).execute();
}

export async function findProjects(db: Kysely<Database>, scope: Scope): Promise<ProjectRow[]> {
  let q = db.selectFrom('projects').selectAll().where('org_id', '=', scope.orgId);
  if (scope.projectIds) q = q.where('id', 'in', [...scope.projectIds]);
  return q.orderBy('name').orderBy('id').modifyEnd(sql`/* findProjects */`).execute();
}
