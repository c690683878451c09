import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema';

/** Orgs with at least one trace since `since`: the ones worth warming. */
export async function findActiveOrgIds(db: Kysely<Database>, since: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('orgs')
    .select('orgs.id')
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('traces').select(sql`1`.as('one')).whereRef('traces.org_id', '=', 'orgs.id').where('traces.ts', '>=', since)),
    )
    .modifyEnd(sql`/* findActiveOrgIds */`)
    .execute();
  return rows.map((r) => r.id);
}
