import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema';

export interface OrgRow {
  id: string;
  name: string;
  created_at: Date;
}

/** null when the id is taken. */
export async function insertOrg(db: Kysely<Database>, id: string, name: string): Promise<OrgRow | null> {
  const row = await db
    .insertInto('orgs')
    .values({ id, name })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning(['id', 'name', 'created_at'])
    .modifyEnd(sql`/* insertOrg */`)
    .executeTakeFirst();
  return row ?? null;
}

export async function findOrgsWithCounts(db: Kysely<Database>): Promise<(OrgRow & { projects: number; keys: number })[]> {
  const rows = await db
    .selectFrom('orgs as o')
    .select((eb) => [
      'o.id',
      'o.name',
      'o.created_at',
      eb.selectFrom('projects as p').whereRef('p.org_id', '=', 'o.id').select(eb.fn.countAll<string>().as('n')).as('projects'),
      eb.selectFrom('api_keys as k').whereRef('k.org_id', '=', 'o.id').where('k.revoked_at', 'is', null).select(eb.fn.countAll<string>().as('n')).as('keys'),
    ])
    .orderBy('o.id')
    .modifyEnd(sql`/* findOrgsWithCounts */`)
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, created_at: r.created_at, projects: Number(r.projects ?? 0), keys: Number(r.keys ?? 0) }));
}

/**
 * One of a new org's first projects, in createOrg's transaction; null when the id is taken (in
 * any org: project ids are global). The same insert as projects' insertProject, kept here so
 * that orgs does not reach into the projects module.
 */
export async function insertOrgProject(db: Kysely<Database>, orgId: string, id: string, name: string): Promise<{ id: string } | null> {
  const row = await db
    .insertInto('projects')
    .values({ id, org_id: orgId, name })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .modifyEnd(sql`/* insertOrgProject */`)
    .executeTakeFirst();
  return row ?? null;
}
