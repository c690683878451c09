import type { Logger } from 'pino';
import type { CachedField } from './entry-codec';

export type { StoredField } from './entry-codec';
export { CachedField } from './entry-codec';

/**
 * Where entries live: Redis (shared by every instance), read through a small per-instance L1,
 * or a bounded in-memory Keyv when REDIS_URL is not set.
 *
 * With Redis configured but down, the store reports itself unusable and the cache is skipped
 * (the database answers), and the L1 is emptied: instances would otherwise keep copies that a
 * purge on another instance cannot reach, and answers would differ between instances.
 */
export interface FieldStore {
  readonly kind: 'redis' | 'memory';
  /** False while Redis is down: skip the cache, do not wait for it. */
  usable(): boolean;
  /** Entries this instance holds itself (the L1), without any I/O. */
  local(key: string): CachedField | undefined;
  getMany(keys: readonly string[]): Promise<Array<CachedField | undefined>>;
  /** Bytes stored; 0 when refused (too large) or failed. */
  set(key: string, entry: CachedField, scope: ScopeIndexEntry): Promise<number>;
  /** Keys of one org (every resource and scope), in batches. */
  scanOrg(orgId: string): AsyncIterable<string[]>;
  deleteKeys(keys: readonly string[]): Promise<number>;
  /** Scope keys of `orgId` whose project list contains `projectId` (from the scope index). */
  scopesContaining(orgId: string, projectId: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Which projects a non-'all' scope key stands for (the key only carries their hash). */
export interface ScopeIndexEntry {
  readonly orgId: string;
  readonly scopeKey: string;
  readonly projectIds: readonly string[] | null;
}

export interface FieldStoreOptions {
  readonly keyPrefix: string;
  readonly maxEntryBytes: number;
  readonly compressMinBytes: number;
  readonly logger: Logger;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
