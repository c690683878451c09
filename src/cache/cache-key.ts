import { createHash } from 'node:crypto';
import type { Viewer } from '../auth/viewer';

/**
 * Key layout: `${prefix}analytics:${resource}:${orgId}:${scope}:${hash}`.
 *
 * The org and the project scope are in clear so that purges can match them with SCAN; the
 * hash covers everything else that changes the answer (field, resolved arguments, normalized
 * selection, role). Two orgs never share a key; two users of one org, role and scope do.
 */
export const KEY_NAMESPACE = 'analytics';
export const SCOPE_INDEX_NAMESPACE = 'analytics-scope';

/** JSON with object keys sorted and Dates as ISO strings: equal values give equal text. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(',')}}`;
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** 'all' for an org-wide key; otherwise a short hash of the sorted project ids. */
export function scopeKeyOf(projectIds: readonly string[] | null): string {
  if (projectIds === null) return 'all';
  return `p${sha256(JSON.stringify([...projectIds].sort())).slice(0, 16)}`;
}

export interface KeyParts {
  readonly prefix: string;
  readonly resource: string;
  readonly viewer: Pick<Viewer, 'orgId' | 'role' | 'projectIds'>;
  readonly args: Record<string, unknown>;
  /** Canonical text of the normalized selection set (see operation-plan.ts). */
  readonly selection: string;
}

export function cacheKeyFor(p: KeyParts): string {
  const material = stableStringify([p.resource, p.args, p.viewer.role, p.selection]);
  return `${p.prefix}${KEY_NAMESPACE}:${p.resource}:${p.viewer.orgId}:${scopeKeyOf(p.viewer.projectIds)}:${sha256(material)}`;
}

/** SCAN MATCH patterns treat * ? [ ] \ specially; ids are escaped before use in one. */
export const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** The parts of a key written by cacheKeyFor, or null when it is not one of ours. */
export function parseCacheKey(prefix: string, key: string): { resource: string; orgId: string; scope: string } | null {
  if (!key.startsWith(`${prefix}${KEY_NAMESPACE}:`)) return null;
  const parts = key.slice(prefix.length + KEY_NAMESPACE.length + 1).split(':');
  if (parts.length !== 4) return null;
  const [resource, orgId, scope] = parts as [string, string, string, string];
  return { resource, orgId, scope };
}
