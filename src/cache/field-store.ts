import { Keyv } from 'keyv';
import KeyvRedis, { type RedisClientConnectionType } from '@keyv/redis';
import type { Logger } from 'pino';
import type { RedisConnection } from '../redis/redis-connection';
import { cacheSizeBytes } from '../telemetry/metrics';
import { KEY_NAMESPACE, SCOPE_INDEX_NAMESPACE, escapeGlob } from './cache-key';
import { decodeEntry, encodeEntry, type StoredField } from './entry-codec';

export type { StoredField } from './entry-codec';

/**
 * Where entries live: Redis (shared by every instance) through Keyv + @keyv/redis on the
 * instance's one Redis connection, or a bounded in-memory Keyv when REDIS_URL is not set.
 *
 * With Redis configured but down, the store reports itself unusable and the cache is skipped
 * (the database answers). It never falls back to memory then: instances would keep copies that
 * a purge on another instance cannot reach, and answers would differ between instances.
 */
export interface FieldStore {
  readonly kind: 'redis' | 'memory';
  /** False while Redis is down: skip the cache, do not wait for it. */
  usable(): boolean;
  getMany(keys: readonly string[]): Promise<Array<StoredField | undefined>>;
  /** Bytes stored; 0 when refused (too large) or failed. */
  set(key: string, entry: StoredField, scope: ScopeIndexEntry): Promise<number>;
  /** Keys of one org (every resource and scope), in batches. */
  scanOrg(orgId: string): AsyncIterable<string[]>;
  deleteKeys(keys: readonly string[]): Promise<number>;
  /** Scope keys of `orgId` whose project list contains `projectId` (from the scope index). */
  scopesContaining(orgId: string, projectId: string): Promise<string[]>;
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

// The scope index outlives the longest entry it describes; it is rewritten while in use.
const SCOPE_INDEX_TTL_MS = 6 * 3600_000;
const SCOPE_INDEX_REFRESH_MS = 600_000;

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class RedisFieldStore implements FieldStore {
  readonly kind = 'redis' as const;
  private readonly keyv: Keyv<string>;
  private readonly indexedScopes = new Map<string, number>();
  /** This instance's live writes (key → bytes, expiry): an estimate for cache_size_bytes. */
  private readonly written = new Map<string, { bytes: number; expiresAt: number }>();
  private writtenBytes = 0;
  private lastSweep = 0;

  constructor(
    private readonly redis: RedisConnection,
    private readonly opts: FieldStoreOptions & { readonly timeoutMs: number },
  ) {
    // No namespace and no Keyv key prefix: keys are exactly cacheKeyFor's, so SCAN can match them.
    this.keyv = new Keyv<string>({ store: new KeyvRedis(redis.client as unknown as RedisClientConnectionType), useKeyPrefix: false, namespace: undefined });
    this.keyv.on('error', (err: unknown) => opts.logger.debug({ err }, 'cache store error'));
  }

  usable(): boolean {
    return this.redis.isReady();
  }

  async getMany(keys: readonly string[]): Promise<Array<StoredField | undefined>> {
    const raw = await this.redis.command('cache read', this.opts.timeoutMs, () => this.keyv.getMany([...keys]));
    return Promise.all(raw.map((v) => decodeEntry(v)));
  }

  async set(key: string, entry: StoredField, scope: ScopeIndexEntry): Promise<number> {
    const text = await encodeEntry(entry, this.opts.compressMinBytes);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.opts.maxEntryBytes) return 0;
    const ttlMs = entry.ttlSeconds * 1000;
    await this.redis.command('cache write', this.opts.timeoutMs, () => Promise.all([this.keyv.set(key, text, ttlMs), this.indexScope(scope)]));
    this.track(key, bytes, Date.now() + ttlMs);
    return bytes;
  }

  private async indexScope(scope: ScopeIndexEntry): Promise<void> {
    if (scope.projectIds === null) return;
    const indexKey = `${this.opts.keyPrefix}${SCOPE_INDEX_NAMESPACE}:${scope.orgId}:${scope.scopeKey}`;
    const last = this.indexedScopes.get(indexKey) ?? 0;
    if (Date.now() - last < SCOPE_INDEX_REFRESH_MS) return;
    const client = this.redis.client;
    if (scope.projectIds.length) await client.sAdd(indexKey, [...scope.projectIds]);
    await client.pExpire(indexKey, SCOPE_INDEX_TTL_MS);
    this.indexedScopes.set(indexKey, Date.now());
  }

  async *scanOrg(orgId: string): AsyncIterable<string[]> {
    yield* this.scan(`${escapeGlob(this.opts.keyPrefix)}${KEY_NAMESPACE}:*:${escapeGlob(orgId)}:*`);
  }

  private async *scan(match: string): AsyncIterable<string[]> {
    // SCAN walks the keyspace in small steps; Redis keeps serving other clients in between.
    for await (const batch of this.redis.client.scanIterator({ MATCH: match, COUNT: 1000 }) as AsyncIterable<string[] | string>) {
      const keys = Array.isArray(batch) ? batch : [batch];
      if (keys.length) yield keys;
    }
  }

  async deleteKeys(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += 500) {
      // UNLINK frees memory in a background thread: never blocks Redis like DEL of big values.
      deleted += Number(await this.redis.client.unlink(keys.slice(i, i + 500)));
    }
    for (const k of keys) this.untrack(k);
    return deleted;
  }

  async scopesContaining(orgId: string, projectId: string): Promise<string[]> {
    const base = `${this.opts.keyPrefix}${SCOPE_INDEX_NAMESPACE}:${orgId}:`;
    const out: string[] = [];
    for await (const keys of this.scan(`${escapeGlob(base)}*`)) {
      for (const k of keys) {
        if (await this.redis.client.sIsMember(k, projectId)) out.push(k.slice(base.length));
      }
    }
    return out;
  }

  private track(key: string, bytes: number, expiresAt: number) {
    this.untrack(key);
    this.written.set(key, { bytes, expiresAt });
    this.writtenBytes += bytes;
    const now = Date.now();
    if (now - this.lastSweep > 5000) {
      this.lastSweep = now;
      for (const [k, w] of this.written) if (w.expiresAt <= now) this.untrack(k);
    }
    cacheSizeBytes.set(this.writtenBytes);
  }

  private untrack(key: string) {
    const w = this.written.get(key);
    if (!w) return;
    this.written.delete(key);
    this.writtenBytes -= w.bytes;
    cacheSizeBytes.set(this.writtenBytes);
  }
}

/** A Map that evicts least recently used entries beyond a byte budget (Keyv's memory store). */
export class BoundedMemoryMap extends Map<string, unknown> {
  private bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  get totalBytes(): number {
    return this.bytes;
  }

  override get(key: string): unknown {
    const v = super.get(key);
    if (v !== undefined) {
      super.delete(key); // re-insert: Map order is recency order
      super.set(key, v);
    }
    return v;
  }

  override set(key: string, value: unknown): this {
    this.delete(key);
    super.set(key, value);
    this.bytes += sizeOf(key, value);
    for (const oldest of super.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
    cacheSizeBytes.set(this.bytes);
    return this;
  }

  override delete(key: string): boolean {
    const v = super.get(key);
    if (v === undefined && !super.has(key)) return false;
    this.bytes -= sizeOf(key, v);
    const deleted = super.delete(key);
    cacheSizeBytes.set(this.bytes);
    return deleted;
  }

  override clear(): void {
    super.clear();
    this.bytes = 0;
    cacheSizeBytes.set(0);
  }
}

const sizeOf = (key: string, value: unknown) => key.length * 2 + (typeof value === 'string' ? value.length * 2 : 64);

export class MemoryFieldStore implements FieldStore {
  readonly kind = 'memory' as const;
  readonly map: BoundedMemoryMap;
  private readonly keyv: Keyv<string>;
  private readonly scopes = new Map<string, Set<string>>();

  constructor(private readonly opts: FieldStoreOptions & { readonly maxBytes: number }) {
    this.map = new BoundedMemoryMap(opts.maxBytes);
    this.keyv = new Keyv<string>({ store: this.map, useKeyPrefix: false, namespace: undefined });
    this.keyv.on('error', (err: unknown) => opts.logger.debug({ err }, 'cache store error'));
  }

  usable(): boolean {
    return true;
  }

  async getMany(keys: readonly string[]): Promise<Array<StoredField | undefined>> {
    const raw = await this.keyv.getMany([...keys]);
    return Promise.all(raw.map((v) => decodeEntry(v)));
  }

  async set(key: string, entry: StoredField, scope: ScopeIndexEntry): Promise<number> {
    const text = await encodeEntry(entry, this.opts.compressMinBytes);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.opts.maxEntryBytes) return 0;
    await this.keyv.set(key, text, entry.ttlSeconds * 1000);
    if (scope.projectIds !== null) this.scopes.set(`${scope.orgId}:${scope.scopeKey}`, new Set(scope.projectIds));
    return bytes;
  }

  async *scanOrg(orgId: string): AsyncIterable<string[]> {
    const prefix = `${this.opts.keyPrefix}${KEY_NAMESPACE}:`;
    const keys = [...this.map.keys()].filter((k) => k.startsWith(prefix) && k.slice(prefix.length).split(':')[1] === orgId);
    if (keys.length) yield keys;
  }

  async deleteKeys(keys: readonly string[]): Promise<number> {
    let n = 0;
    for (const k of keys) if (this.map.delete(k)) n++;
    return n;
  }

  async scopesContaining(orgId: string, projectId: string): Promise<string[]> {
    const out: string[] = [];
    for (const [k, ids] of this.scopes) {
      if (k.startsWith(`${orgId}:`) && ids.has(projectId)) out.push(k.slice(orgId.length + 1));
    }
    return out;
  }
}
