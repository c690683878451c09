import type { RedisConnection } from '../redis/redis-connection';
import { cacheSizeBytes } from '../telemetry/metrics';
import { KEY_NAMESPACE, SCOPE_INDEX_NAMESPACE, escapeGlob } from './cache-key';
import { decodeEntry, encodeEntry, type CachedField } from './entry-codec';
import { type FieldStore, type FieldStoreOptions, type ScopeIndexEntry } from './field-store';
import { InvalidationChannel } from './invalidation-channel';
import { L1Cache } from './l1-cache';

// The scope index outlives the longest entry it describes; it is rewritten while in use.
const SCOPE_INDEX_TTL_MS = 6 * 3600_000;
const SCOPE_INDEX_REFRESH_MS = 600_000;

/**
 * Entries in Redis as plain strings (`SET key text PX ttl`, read with `GET` + `PTTL`), with an
 * L1 of decoded entries in front. Reads go out in the same event-loop turn as the request's
 * budget script, so the client writes them to the socket together: one round trip.
 *
 * The L1 is used only while both this connection is ready and the invalidation channel is
 * live; a copy expires no later than its Redis entry (PTTL measured from before the read).
 */
export class RedisFieldStore implements FieldStore {
  readonly kind = 'redis' as const;
  readonly l1: L1Cache;
  private readonly channel?: InvalidationChannel;
  private readonly indexedScopes = new Map<string, number>();
  /** This instance's live writes (key → bytes, expiry): an estimate for cache_size_bytes. */
  private readonly written = new Map<string, { bytes: number; expiresAt: number }>();
  private writtenBytes = 0;
  private lastSweep = 0;
  private l1WasUsable = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly opts: FieldStoreOptions & { readonly timeoutMs: number; readonly l1MaxBytes: number },
  ) {
    this.l1 = new L1Cache(opts.l1MaxBytes);
    if (this.l1.enabled) {
      this.channel = new InvalidationChannel(
        redis,
        `${opts.keyPrefix}${KEY_NAMESPACE}-invalidate`,
        { onInvalidate: (keys) => this.l1.invalidate(keys), onLost: () => this.l1.clear() },
        opts.logger,
      );
      this.channel.start();
    }
  }

  usable(): boolean {
    return this.redis.isReady();
  }

  /** The L1 serves only while purges are sure to reach it; any doubt empties it. */
  private l1Usable(): boolean {
    const ok = this.l1.enabled && this.redis.isReady() && Boolean(this.channel?.live);
    if (!ok && this.l1WasUsable) this.l1.clear();
    this.l1WasUsable = ok;
    return ok;
  }

  local(key: string): CachedField | undefined {
    return this.l1Usable() ? this.l1.get(key) : undefined;
  }

  async getMany(keys: readonly string[]): Promise<Array<CachedField | undefined>> {
    const keepCopies = this.l1Usable();
    const epoch = this.l1.epoch;
    const sentAt = Date.now();
    // Issued synchronously, one GET and one PTTL per key: they share the socket write (and the
    // round trip) with whatever else this turn of the event loop sends. command(): the deadline,
    // and timeouts feed the connection's circuit breaker.
    const replies = await this.redis.command('cache read', this.opts.timeoutMs, (client) =>
      Promise.all(keys.map((k) => Promise.all([client.get(k), keepCopies ? client.pTTL(k) : Promise.resolve(-1)]))),
    );
    return Promise.all(
      replies.map(async ([text, pttl], i) => {
        const entry = await decodeEntry(text);
        if (entry && keepCopies && Number(pttl) > 0) this.l1.set(keys[i]!, entry, sentAt + Number(pttl), epoch);
        return entry;
      }),
    );
  }

  async set(key: string, entry: CachedField, scope: ScopeIndexEntry): Promise<number> {
    const text = await encodeEntry(entry, this.opts.compressMinBytes);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.opts.maxEntryBytes) return 0;
    const ttlMs = entry.ttlSeconds * 1000;
    const epoch = this.l1.epoch;
    await this.redis.command('cache write', this.opts.timeoutMs, (client) => Promise.all([client.set(key, text, { PX: ttlMs }), this.indexScope(scope)]));
    // Redis expires the entry ttl after the SET, which came after storedAt: the copy goes first.
    if (this.l1Usable()) this.l1.set(key, entry, entry.storedAt + ttlMs, epoch);
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
      const batch = keys.slice(i, i + 500);
      this.l1.invalidate(batch);
      // UNLINK frees memory in a background thread: never blocks Redis like DEL of big values.
      deleted += Number(await this.redis.client.unlink(batch));
      // After the UNLINK: an instance that refills from Redis once it hears this reads nothing.
      await this.channel?.publish(batch);
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

  async close(): Promise<void> {
    await this.channel?.close();
    this.l1.clear();
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
