import type { Role } from '../db/schema';

/**
 * The one permission table. The SDL names the permission a field needs (`@auth(requires:)`,
 * see schema/limits.graphql); this table says which roles hold it. Nothing else decides access.
 *
 * Decisions worth stating:
 * - TRACE_CONTENT_READ covers prompt/completion text (`Trace.input`, `Trace.output`) and text
 *   search, since matching a search string against prompts reveals their content.
 * - BILLING sees spend and usage (costs, projects with request/token/cost stats, viewer,
 *   rateLimit) but no traces, sessions, quality, latency or error details.
 * - VIEWER reads traces and all metrics (costs included) but no content, and cannot export.
 * - INGEST (permission) sends spans to POST /v1/traces. The INGEST role holds nothing else, so
 *   a key baked into an application cannot read anything back; DEVELOPER and ADMIN may ingest
 *   too, VIEWER and BILLING may not.
 * - PROJECTS_MANAGE (createProject, renameProject) is ADMIN only, like key management.
 */
export const Permission = {
  VIEWER_READ: 'VIEWER_READ',
  PROJECTS_READ: 'PROJECTS_READ',
  COSTS_READ: 'COSTS_READ',
  METRICS_READ: 'METRICS_READ',
  TRACES_READ: 'TRACES_READ',
  TRACE_CONTENT_READ: 'TRACE_CONTENT_READ',
  EXPORT: 'EXPORT',
  KEYS_MANAGE: 'KEYS_MANAGE',
  CACHE_PURGE: 'CACHE_PURGE',
  INGEST: 'INGEST',
  PROJECTS_MANAGE: 'PROJECTS_MANAGE',
} as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

const ALL = Object.values(Permission);

export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  ADMIN: new Set(ALL),
  DEVELOPER: new Set(ALL.filter((p) => p !== 'KEYS_MANAGE' && p !== 'CACHE_PURGE' && p !== 'PROJECTS_MANAGE')),
  VIEWER: new Set<Permission>(['VIEWER_READ', 'PROJECTS_READ', 'COSTS_READ', 'METRICS_READ', 'TRACES_READ']),
  BILLING: new Set<Permission>(['VIEWER_READ', 'PROJECTS_READ', 'COSTS_READ']),
  INGEST: new Set<Permission>(['INGEST']),
};

export const ROLES = Object.keys(ROLE_PERMISSIONS) as Role[];

export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role]?.has(permission) ?? false;
}

export function isPermission(v: unknown): v is Permission {
  return typeof v === 'string' && v in Permission;
}
