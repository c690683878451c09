import type { Role } from '../db/schema';

/** The authenticated caller: every repository call takes its scope, so none can forget it. */
export interface Viewer {
  readonly orgId: string;
  readonly orgName: string;
  readonly role: Role;
  /** null: every project of the org. */
  readonly projectIds: readonly string[] | null;
  readonly keyId: string | null;
  readonly keyName: string | null;
}

/** The tenant boundary passed to repositories. */
export interface Scope {
  readonly orgId: string;
  readonly projectIds: readonly string[] | null;
}

export const scopeOf = (v: Viewer): Scope => ({ orgId: v.orgId, projectIds: v.projectIds });
