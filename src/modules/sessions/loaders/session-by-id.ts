import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Scope } from '../../../auth/viewer';
import type { Database } from '../../../db/schema';
import type { SessionParent } from '../sessions.mappers';
import { findSessionsByIds } from '../sessions.repository';

/** Session summaries by id, one grouped query per batch; unknown ids resolve to null. */
export function createSessionByIdLoader(db: Kysely<Database>, scope: Scope) {
  return new DataLoader<string, SessionParent | null>(async (ids) => {
    const rows = await findSessionsByIds(db, scope, ids);
    const byId = new Map(rows.map((r) => [r.session_id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}
