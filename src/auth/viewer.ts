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
  /** Who is calling within the org: the API key id, or the JWT `sub`. Budgets are kept per subject. */
  readonly subject?: string;
  /** The gateway's own work (cache warming): priced, never charged to a tenant's budget. */
  readonly internal?: boolean;
}

/** The tenant boundary passed to repositories. */
export interface Scope {
  readonly orgId: string;
  readonly projectIds: readonly string[] | null;
}

export const scopeOf = (v: Viewer): Scope => ({ orgId: v.orgId, projectIds: v.projectIds });

/** The budget and per-field-limit identity of a caller (see README "Access control and rate limits"). */
export const subjectOf = (v: Viewer): string => v.subject ?? (v.keyId ? `key:${v.keyId}` : `org:${v.orgId}`);
