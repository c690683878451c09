import { sql, type Kysely, type Selectable } from 'kysely';
import type { ApiKeysTable, Database, Role } from '../../db/schema';

/** What listings may show of a key: everything but its hash (the key itself is never stored). */
export type ApiKeyRow = Omit<Selectable<ApiKeysTable>, 'key_hash'>;

const LISTED = ['id', 'org_id', 'name', 'key_prefix', 'role', 'project_ids', 'created_at', 'revoked_at', 'last_used_at'] as const;

export async function insertApiKey(
  db: Kysely<Database>,
  row: { orgId: string; name: string; role: Role; keyHash: string; keyPrefix: string; projectIds: string[] | null },
): Promise<ApiKeyRow> {
  return db
    .insertInto('api_keys')
    .values({ org_id: row.orgId, name: row.name, role: row.role, key_hash: row.keyHash, key_prefix: row.keyPrefix, project_ids: row.projectIds })
    .returning(LISTED)
    .modifyEnd(sql`/* insertApiKey */`)
    .executeTakeFirstOrThrow();
}

/** Keys of one org, newest first; `limit` bounds an org that scripted thousands of keys. */
export async function findApiKeys(db: Kysely<Database>, orgId: string, opts: { includeRevoked: boolean; limit: number }): Promise<ApiKeyRow[]> {
  let q = db.selectFrom('api_keys').select(LISTED).where('org_id', '=', orgId);
  if (!opts.includeRevoked) q = q.where('revoked_at', 'is', null);
  return q.orderBy('created_at', 'desc').orderBy('id').limit(opts.limit).modifyEnd(sql`/* findApiKeys */`).execute();
}

export async function findApiKeyById(db: Kysely<Database>, orgId: string, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_keys').select(LISTED).where('org_id', '=', orgId).where('id', '=', id).modifyEnd(sql`/* findApiKeyById */`).executeTakeFirst();
}

/** Sets revoked_at once (a second revocation keeps the first time); returns the hash to forget. */
export async function revokeApiKeyById(db: Kysely<Database>, orgId: string, id: string, at: Date): Promise<(ApiKeyRow & { key_hash: string }) | undefined> {
  return db
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, ${at})` })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning([...LISTED, 'key_hash'])
    .modifyEnd(sql`/* revokeApiKeyById */`)
    .executeTakeFirst();
}

/** Which of `ids` are projects of the org (the others are unknown there, wherever they exist). */
export async function findProjectIdsInOrg(db: Kysely<Database>, orgId: string, ids: readonly string[]): Promise<string[]> {
  if (!ids.length) return [];
  const rows = await db
    .selectFrom('projects')
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', 'in', [...ids])
    .modifyEnd(sql`/* findProjectIdsInOrg */`)
    .execute();
  return rows.map((r) => r.id);
}

/** Every org id (the operator's CLI says which exist when given an unknown one). */
export async function findOrgIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('orgs').select('id').orderBy('id').modifyEnd(sql`/* findOrgIds */`).execute();
  return rows.map((r) => r.id);
}
