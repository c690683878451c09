import type { ServiceContext } from '../../context';
import { withTimedRead } from '../../db/database';
import type { ProjectRow } from '../../db/schema';
import { badInput, forbidden, notFound } from '../../shared/errors';
import { findProjects, insertProject, renameProjectById } from './projects.repository';
import { checkProjectName, PROJECT_ID_PATTERN } from '../../shared/project-names';

// The id and name rules are shared with createOrg (src/shared/project-names.ts).
export { checkProjectName, MAX_PROJECT_NAME_LENGTH, PROJECT_ID_PATTERN } from '../../shared/project-names';

/**
 * Projects without SQL: the viewer's projects (read side, under the simple statement timeout);
 * createProject / renameProject (ADMIN, on the primary). Ids are chosen by the caller
 * because applications name them (resource attribute `observatory.project.id`); they are
 * global, so an id taken by another org is refused the same way as one taken in this org.
 */
export function listProjects(ctx: ServiceContext<'database'>): Promise<ProjectRow[]> {
  const { database } = ctx.services;
  return withTimedRead(database, 'simple', (trx) => findProjects(trx, ctx.scope));
}

export async function createProject(ctx: ServiceContext<'database'>, input: { id: string; name: string }): Promise<ProjectRow> {
  const { scope: manager } = ctx;
  // A key limited to some projects would not see the project it creates: org-wide keys only.
  if (manager.projectIds) throw forbidden('Creating projects needs an org-wide ADMIN key (this key is limited to some projects)');
  if (!PROJECT_ID_PATTERN.test(input.id)) {
    throw badInput('id must be 3–64 characters: lower-case letters, digits, _ and -, starting with a letter or digit', { argument: 'id' });
  }
  const name = checkProjectName(input.name);
  const row = await insertProject(ctx.services.database.db, manager.orgId, input.id, name);
  if (!row) throw badInput(`Project id ${input.id} is already taken`, { argument: 'id' });
  return row;
}

export async function renameProject(ctx: ServiceContext<'database'>, input: { id: string; name: string }): Promise<ProjectRow> {
  const name = checkProjectName(input.name);
  const row = await renameProjectById(ctx.services.database.db, ctx.scope, input.id, name);
  // Another org's project and one that does not exist look the same.
  if (!row) throw notFound(`No project ${input.id} in this organisation`);
  return row;
}
