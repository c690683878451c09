import type { ServiceContext } from '../../context';
import { withStatementTimeout } from '../../db/database';
import type { ProjectRow } from '../../db/schema';
import { badInput, forbidden, notFound } from '../../shared/errors';
import { findProjects, insertProject, renameProjectById } from './projects.repository';

/**
 * Projects without SQL: the viewer's projects (read side, under the simple statement timeout);
 * createProject / renameProject (ADMIN, on the primary). Ids are chosen by the caller
 * because applications name them (resource attribute `observatory.project.id`); they are
 * global, so an id taken by another org is refused the same way as one taken in this org.
 */
export const PROJECT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{2,63}$/;
export const MAX_PROJECT_NAME_LENGTH = 100;

export function checkProjectName(name: string): string {
  const n = name.trim();
  if (n.length < 1 || n.length > MAX_PROJECT_NAME_LENGTH || n.includes('\u0000')) {
    throw badInput(`name must be 1–${MAX_PROJECT_NAME_LENGTH} characters`, { argument: 'name' });
  }
  return n;
}

export function listProjects(ctx: ServiceContext<'database'>): Promise<ProjectRow[]> {
  const { database } = ctx.services;
  return withStatementTimeout(database, database.readDb, 'simple', (trx) => findProjects(trx, ctx.scope));
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
