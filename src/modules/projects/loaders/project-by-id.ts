import DataLoader from 'dataloader';
import type { Scope } from '../../../auth/viewer';
import type { TimedRead } from '../../../db/timed-read';
import type { ProjectRow } from '../../../db/schema';
import { findProjectsByIds } from '../projects.repository';

/** Projects by id within the viewer's scope; ids outside it resolve to null, never to a row. */
export function createProjectByIdLoader(read: TimedRead, scope: Scope) {
  return new DataLoader<string, ProjectRow | null>(async (ids) => {
    const rows = await read((db) => findProjectsByIds(db, scope, ids));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}
