import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema';
import { badInput } from '../../shared/errors';
import { checkProjectName, PROJECT_ID_PATTERN } from '../../shared/project-names';
import { insertOrg, insertOrgProject, type OrgRow } from './orgs.repository';

/** Orgs are an operator's matter (the CLI): no API key can create one. */
export const ORG_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{2,63}$/;

export async function createOrg(db: Kysely<Database>, input: { id: string; name: string; projects?: readonly { id: string; name: string }[] }): Promise<{ org: OrgRow; projects: string[] }> {
  if (!ORG_ID_PATTERN.test(input.id)) throw badInput('org id must be 3–64 characters: lower-case letters, digits, _ and -', { argument: 'id' });
  const name = input.name.trim();
  if (name.length < 1 || name.length > 100 || name.includes('\u0000')) throw badInput('org name must be 1–100 characters', { argument: 'name' });
  for (const p of input.projects ?? []) {
    if (!PROJECT_ID_PATTERN.test(p.id)) throw badInput(`project id ${p.id} must be 3–64 characters: lower-case letters, digits, _ and -`, { argument: 'projects' });
    checkProjectName(p.name);
  }
  // One transaction: an org is created with its first projects or not at all.
  return db.transaction().execute(async (trx) => {
    const org = await insertOrg(trx, input.id, name);
    if (!org) throw badInput(`Org id ${input.id} is already taken`, { argument: 'id' });
    const created: string[] = [];
    for (const p of input.projects ?? []) {
      const row = await insertOrgProject(trx, org.id, p.id, checkProjectName(p.name));
      if (!row) throw badInput(`Project id ${p.id} is already taken`, { argument: 'projects' });
      created.push(row.id);
    }
    return { org, projects: created };
  });
}
