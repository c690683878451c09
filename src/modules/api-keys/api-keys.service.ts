import type { Kysely } from 'kysely';
import type { Database, Role } from '../../db/schema';
import type { ServiceContext } from '../../context';
import type { Scope } from '../../auth/viewer';
import { generateApiKey, hashApiKey } from '../../auth/api-keys';
import { ROLES } from '../../auth/permissions';
import { badInput, notFound } from '../../shared/errors';
import { isUuid } from '../../shared/ids';
import { findApiKeyById, findApiKeys, findProjectIdsInOrg, insertApiKey, revokeApiKeyById, type ApiKeyRow } from './api-keys.repository';

/**
 * Key management without SQL: the rules shared by the GraphQL mutations (ADMIN keys, KEYS_MANAGE)
 * and the operator's CLI. `manager` is whoever manages: an org-wide scope (an ADMIN key without
 * projects, or the CLI) manages every key of its org; a project-scoped ADMIN key manages only
 * keys inside its own projects, so it can never mint a key that sees more than it does.
 * Writes and reads go to the primary, which sees its own writes.
 */

export const MAX_KEY_NAME_LENGTH = 100;
export const MAX_KEY_PROJECTS = 100;
export const MAX_LISTED_KEYS = 1000;

export interface IssuedApiKey {
  /** The plain key: returned this once; only its sha256 is stored. */
  readonly key: string;
  readonly apiKey: ApiKeyRow;
}

export interface NewApiKey {
  readonly name: string;
  readonly role: string;
  /** null or absent: every project of the org. An empty list is refused. */
  readonly projectIds?: readonly string[] | null;
}

export async function issueApiKey(ctx: ServiceContext<'database'>, input: NewApiKey): Promise<IssuedApiKey> {
  const { scope: manager } = ctx;
  const db = ctx.services.database.db;
  const name = checkName(input.name);
  const role = checkRole(input.role);
  const projectIds = await checkProjects(db, manager, input.projectIds);
  const key = generateApiKey(role);
  const apiKey = await insertApiKey(db, { orgId: manager.orgId, name, role, keyHash: hashApiKey(key), keyPrefix: key.slice(0, 12), projectIds });
  return { key, apiKey };
}

export async function listApiKeys(ctx: ServiceContext<'database'>, opts: { includeRevoked: boolean }): Promise<ApiKeyRow[]> {
  const { scope: manager } = ctx;
  const db = ctx.services.database.db;
  const rows = await findApiKeys(db, manager.orgId, { includeRevoked: opts.includeRevoked, limit: MAX_LISTED_KEYS });
  return rows.filter((r) => manages(manager, r));
}

/** Revokes a key of the manager's org. Revoking twice answers the key as it is (idempotent). */
export async function revokeApiKey(ctx: ServiceContext<'database'>, id: string): Promise<{ apiKey: ApiKeyRow; keyHash: string }> {
  const { scope: manager } = ctx;
  const db = ctx.services.database.db;
  if (!isUuid(id)) throw badInput('id must be an API key id (a UUID, as listed by apiKeys)', { argument: 'id' });
  const existing = await findApiKeyById(db, manager.orgId, id);
  // Another org's key and a key outside the manager's projects look the same: not found.
  if (!existing || !manages(manager, existing)) throw notFound(`No API key ${id} in this organisation`);
  const revoked = await revokeApiKeyById(db, manager.orgId, id, new Date());
  if (!revoked) throw notFound(`No API key ${id} in this organisation`);
  const { key_hash: keyHash, ...apiKey } = revoked;
  return { apiKey, keyHash };
}

function manages(manager: Scope, key: Pick<ApiKeyRow, 'project_ids'>): boolean {
  if (!manager.projectIds) return true;
  const mine = new Set(manager.projectIds);
  return Boolean(key.project_ids?.length) && key.project_ids!.every((p) => mine.has(p));
}

function checkName(raw: string): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  if (!name) throw badInput('name must not be empty: say who or what uses the key (e.g. "ci-nightly")', { argument: 'name' });
  if (name.length > MAX_KEY_NAME_LENGTH) throw badInput(`name may have at most ${MAX_KEY_NAME_LENGTH} characters`, { argument: 'name' });
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw badInput('name must not contain control characters', { argument: 'name' });
  return name;
}

function checkRole(raw: string): Role {
  const role = String(raw ?? '').toUpperCase() as Role;
  if (!ROLES.includes(role)) throw badInput(`role must be one of ${ROLES.join(', ')}`, { argument: 'role' });
  return role;
}

async function checkProjects(db: Kysely<Database>, manager: Scope, raw: readonly string[] | null | undefined): Promise<string[] | null> {
  if (raw == null) {
    if (manager.projectIds) {
      throw badInput('projectIds is required: a key limited to projects may only create keys for some of its own projects', { argument: 'projectIds' });
    }
    return null;
  }
  const ids = [...new Set(raw.map((p) => String(p).trim()))];
  if (ids.length === 0 || ids.some((p) => !p)) {
    throw badInput('projectIds must name at least one project; leave it out (null) for a key that sees every project of the org', { argument: 'projectIds' });
  }
  if (ids.length > MAX_KEY_PROJECTS) throw badInput(`projectIds may name at most ${MAX_KEY_PROJECTS} projects`, { argument: 'projectIds' });
  const known = new Set(await findProjectIdsInOrg(db, manager.orgId, ids));
  const mine = manager.projectIds ? new Set(manager.projectIds) : null;
  // Projects of other orgs and projects that do not exist get the same answer: nothing leaks.
  const unknown = ids.filter((p) => !known.has(p) || (mine && !mine.has(p)));
  if (unknown.length) {
    throw badInput(`Unknown project${unknown.length > 1 ? 's' : ''} in this organisation${mine ? ' (or outside this key\'s projects)' : ''}: ${unknown.join(', ')}`, {
      argument: 'projectIds',
    });
  }
  return ids.sort();
}
