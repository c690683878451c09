import { Keyv } from 'keyv';
import { cacheSizeBytes } from '../telemetry/metrics';
import { KEY_NAMESPACE } from './cache-key';
import { decodeEntry, encodeEntry, type CachedField } from './entry-codec';
import type { FieldStore, FieldStoreOptions, ScopeIndexEntry } from './field-store';

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

  /** The store is in process already; reads go through Keyv (which applies its TTLs). */
  local(): undefined {
    return undefined;
  }

  async getMany(keys: readonly string[]): Promise<Array<CachedField | undefined>> {
    const raw = await this.keyv.getMany([...keys]);
    return Promise.all(raw.map((v) => decodeEntry(v)));
  }

  async set(key: string, entry: CachedField, scope: ScopeIndexEntry): Promise<number> {
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

  async close(): Promise<void> {}
}
