import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { findOrgProjectIds } from './ingest.repository';

/**
 * Which projects an org has, for checking the project every ingested span names. Kept per org
 * for `ttlMs`; an unknown project reloads the org's list once (a project created a moment ago on
 * another instance is found), and createProject on this instance forgets the org at once.
 */
export class ProjectDirectory {
  private readonly orgs = new Map<string, { at: number; ids: Promise<Set<string>> }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = 10_000,
  ) {}

  async has(orgId: string, projectId: string): Promise<boolean> {
    const entry = this.orgs.get(orgId);
    const fresh = entry && Date.now() - entry.at < this.ttlMs;
    const ids = await (fresh ? entry.ids : this.load(orgId));
    if (ids.has(projectId)) return true;
    // Reload once for a miss, but not more than once a second per org.
    if (fresh && Date.now() - entry.at > 1000) return (await this.load(orgId)).has(projectId);
    return false;
  }

  forget(orgId: string): void {
    this.orgs.delete(orgId);
  }

  private load(orgId: string): Promise<Set<string>> {
    const ids = findOrgProjectIds(this.db, orgId).then((list) => new Set(list));
    this.orgs.set(orgId, { at: Date.now(), ids });
    ids.catch(() => this.orgs.delete(orgId));
    return ids;
  }
}
