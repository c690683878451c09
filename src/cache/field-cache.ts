import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { RedisConnection } from '../redis/redis-connection';
import type { Viewer } from '../auth/viewer';
import { cacheHitsTotal, cacheMissesTotal } from '../telemetry/metrics';
import { cacheBypassTotal, cacheEntrySizeBytes } from './cache-metrics';
import { parseCacheKey, scopeKeyOf } from './cache-key';
import { cacheTtlsOf } from './cache-policy';
import type { CachedField, FieldStore } from './field-store';
import { MemoryFieldStore } from './memory-field-store';
import { RedisFieldStore } from './redis-field-store';
import { SingleFlight, type Fill } from './single-flight';

export interface FieldLookup {
  readonly key: string;
  readonly resource: string;
}

/** What a request still has to do for the keys it found nowhere. */
export interface ClaimResult {
  /** Values other requests of this instance were filling, now filled. */
  readonly found: Map<string, CachedField>;
  /** Keys this request must execute and then settle (it leads their single flight). */
  readonly fills: Map<string, Fill<CachedField>>;
}

/**
 * The per-field cache of one gateway instance: the store (with its L1), the single-flight
 * table, TTLs and purges. The request pipeline (src/pipeline) decides what to look up and when:
 * local copies first (no I/O), then one store read sent together with the budget script, then
 * claims on what is still missing.
 */
export class FieldCache {
  readonly flights: SingleFlight<CachedField>;

  constructor(
    readonly store: FieldStore,
    readonly options: { readonly enabled: boolean; readonly keyPrefix: string; readonly ttlOverrides: Readonly<Record<string, number>>; readonly fillWaitMs: number },
    private readonly logger: Logger,
  ) {
    this.flights = new SingleFlight(Math.max(1, options.fillWaitMs));
  }

  ttlsOf(schema: GraphQLSchema): ReadonlyMap<string, number> {
    return cacheTtlsOf(schema, this.options.ttlOverrides);
  }

  /** This instance's copies of `keys` (the L1), without I/O. */
  localHits(keys: readonly string[]): Map<string, CachedField> {
    const found = new Map<string, CachedField>();
    for (const k of keys) {
      const v = this.store.local(k);
      if (v) found.set(k, v);
    }
    return found;
  }

  /**
   * The store's entries for `keys`; a failed or slow read is a miss (counted as a bypass).
   * The read is sent synchronously: call it in the same turn as other Redis commands of the
   * request to share their round trip.
   */
  async fetch(keys: readonly string[]): Promise<Map<string, CachedField>> {
    const found = new Map<string, CachedField>();
    if (!keys.length) return found;
    try {
      const values = await this.store.getMany(keys);
      keys.forEach((k, i) => values[i] && found.set(k, values[i]!));
    } catch (err) {
      cacheBypassTotal.inc({ reason: 'store_error' });
      this.logger.debug({ err }, 'cache read failed; answering from the database');
    }
    return found;
  }

  /**
   * For keys found nowhere: wait for the fills other requests of this instance have in flight,
   * claim the rest. Claims are taken in one synchronous step, so waits never form a cycle.
   */
  async claim(keys: readonly string[]): Promise<ClaimResult> {
    const found = new Map<string, CachedField>();
    const fills = new Map<string, Fill<CachedField>>();
    const waits: Array<[string, Promise<CachedField | undefined>]> = [];
    for (const k of new Set(keys)) {
      // A fill that finished while this request's read was on its way is in the L1 already
      // (the leader copies it there before it releases the key).
      const copy = this.store.local(k);
      if (copy) {
        found.set(k, copy);
        continue;
      }
      const w = this.flights.follow(k);
      if (w) waits.push([k, w]);
      else fills.set(k, this.flights.lead(k)!);
    }
    await Promise.all(
      waits.map(async ([k, w]) => {
        const v = await w;
        if (v) found.set(k, v);
      }),
    );
    return { found, fills };
  }

  /** Counts each looked-up field as a hit or a miss of its resource. */
  count(fields: readonly FieldLookup[], hit: (key: string) => boolean): void {
    for (const f of fields) (hit(f.key) ? cacheHitsTotal : cacheMissesTotal).inc({ resource: f.resource });
  }

  /** Stores a field's value. Never throws: a failed write is only a later miss. */
  async save(key: string, entry: CachedField, viewer: Pick<Viewer, 'orgId' | 'projectIds'>): Promise<void> {
    if (!this.store.usable()) return;
    const resource = parseCacheKey(this.options.keyPrefix, key)?.resource ?? 'unknown';
    try {
      const bytes = await this.store.set(key, entry, { orgId: viewer.orgId, scopeKey: scopeKeyOf(viewer.projectIds), projectIds: viewer.projectIds });
      if (bytes === 0) cacheBypassTotal.inc({ reason: 'too_large' });
      else cacheEntrySizeBytes.observe({ resource }, bytes);
    } catch (err) {
      cacheBypassTotal.inc({ reason: 'store_error' });
      this.logger.debug({ err, key }, 'cache write failed');
    }
  }

  /** Deletes every entry of one org, or of one resource of it. Returns the number deleted. */
  async purge(orgId: string, resource?: string | null): Promise<number> {
    return this.purgeWhere(orgId, (p) => !resource || p.resource === resource);
  }

  /**
   * After a project's data is rewritten: entries whose scope includes the project, and the
   * org-wide entries of its org. Entries of other project scopes of the org stay.
   */
  async purgeProjectEntries(orgId: string, projectId: string, resource?: string | null): Promise<number> {
    const scopes = new Set(await this.store.scopesContaining(orgId, projectId));
    scopes.add('all');
    return this.purgeWhere(orgId, (p) => scopes.has(p.scope) && (!resource || p.resource === resource));
  }

  /** Stops the invalidation subscriber (before the Redis connection closes). */
  close(): Promise<void> {
    return this.store.close();
  }

  private async purgeWhere(orgId: string, keep: (p: { resource: string; scope: string }) => boolean): Promise<number> {
    let deleted = 0;
    for await (const batch of this.store.scanOrg(orgId)) {
      const doomed = batch.filter((k) => {
        const p = parseCacheKey(this.options.keyPrefix, k);
        // SCAN's pattern is a glob; the exact org comparison is here.
        return p !== null && p.orgId === orgId && keep(p);
      });
      if (doomed.length) deleted += await this.store.deleteKeys(doomed);
    }
    this.logger.info({ orgId, deleted }, 'cache entries purged');
    return deleted;
  }
}

export function createFieldCache(config: Config, redis: RedisConnection | undefined, logger: Logger): FieldCache {
  const c = config.cache;
  const storeOpts = { keyPrefix: config.redisKeyPrefix, maxEntryBytes: c.maxEntryBytes, compressMinBytes: c.compressMinBytes, logger };
  const store: FieldStore = redis
    ? new RedisFieldStore(redis, { ...storeOpts, timeoutMs: c.redisTimeoutMs, l1MaxBytes: c.enabled ? c.l1MaxBytes : 0 })
    : new MemoryFieldStore({ ...storeOpts, maxBytes: c.memoryMaxBytes });
  return new FieldCache(store, { enabled: c.enabled, keyPrefix: config.redisKeyPrefix, ttlOverrides: c.ttlOverrides, fillWaitMs: c.fillWaitMs }, logger);
}
