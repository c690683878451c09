import DataLoader from 'dataloader';
import type { Scope } from '../../../auth/viewer';
import type { TimedRead } from '../../../db/timed-read';
import type { SessionParent } from '../sessions.mappers';
import { findSessionsByIds } from '../sessions.repository';

/** Session summaries by id, one grouped query per batch; unknown ids resolve to null. */
export function createSessionByIdLoader(read: TimedRead, scope: Scope) {
  return new DataLoader<string, SessionParent | null>(async (ids) => {
    const rows = await read((db) => findSessionsByIds(db, scope, ids));
    const byId = new Map(rows.map((r) => [r.session_id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}
