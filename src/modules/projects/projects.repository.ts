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

/** null when the id is taken (in any org: project ids are global, spans name them). */
export async function insertProject(db: Kysely<Database>, orgId: string, id: string, name: string): Promise<ProjectRow | null> {
  const row = await db
    .insertInto('projects')
    .values({ id, org_id: orgId, name })
    .onConflict((oc) => oc.column('id').doNothing())
    .returningAll()
    .modifyEnd(sql`/* insertProject */`)
    .executeTakeFirst();
  return row ?? null;
}

export async function renameProjectById(db: Kysely<Database>, scope: Scope, id: string, name: string): Promise<ProjectRow | null> {
  let q = db.updateTable('projects').set({ name }).where('org_id', '=', scope.orgId).where('id', '=', id);
  if (scope.projectIds) q = q.where('id', 'in', [...scope.projectIds]);
  const row = await q.returningAll().modifyEnd(sql`/* renameProjectById */`).executeTakeFirst();
  return row ?? null;
}
