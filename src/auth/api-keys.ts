import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Role } from '../db/schema';
import type { Viewer } from './viewer';

/** Keys look like `obs_<role>_<32 random chars>`; only their sha256 is stored. */
export function generateApiKey(role: Role): string {
  return `obs_${role.toLowerCase()}_${randomBytes(24).toString('base64url')}`;
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export async function createApiKey(
  db: Kysely<Database>,
  input: { orgId: string; name: string; role: Role; projectIds?: string[] | null; key?: string },
): Promise<{ id: string; key: string }> {
  // An empty list would be a key for nothing (it used to mean the whole org): null is "all".
  if (input.projectIds && input.projectIds.length === 0) throw new Error('createApiKey: projectIds must be null (every project) or name at least one project');
  const key = input.key ?? generateApiKey(input.role);
  const row = await db
    .insertInto('api_keys')
    .values({
      org_id: input.orgId,
      name: input.name,
      role: input.role,
      key_hash: hashApiKey(key),
      key_prefix: key.slice(0, 12),
      project_ids: input.projectIds ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, key };
}

export async function findViewerByKeyHash(db: Kysely<Database>, keyHash: string): Promise<Viewer | null> {
  const row = await db
    .selectFrom('api_keys as k')
    .innerJoin('orgs as o', 'o.id', 'k.org_id')
    .select(['k.id', 'k.name', 'k.org_id', 'o.name as org_name', 'k.role', 'k.project_ids'])
    .where('k.key_hash', '=', keyHash)
    .where('k.revoked_at', 'is', null)
    .executeTakeFirst();
  if (!row) return null;
  // An empty list (only ever written by hand: createApiKey refuses it) grants nothing rather
  // than silently meaning the whole org.
  if (row.project_ids && row.project_ids.length === 0) return null;
  return {
    orgId: row.org_id,
    orgName: row.org_name,
    role: row.role,
    projectIds: row.project_ids,
    keyId: row.id,
    keyName: row.name,
  };
}

export async function touchApiKey(db: Kysely<Database>, keyId: string, at: Date): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', keyId).execute();
}
