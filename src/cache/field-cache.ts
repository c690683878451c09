import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { RedisConnection } from '../redis/redis-connection';
import type { Viewer } from '../auth/viewer';
import { cacheHitsTotal, cacheMissesTotal } from '../telemetry/metrics';
import { cacheBypassTotal, cacheEntrySizeBytes } from './cache-metrics';
import { parseCacheKey, scopeKeyOf } from './cache-key';
import { cacheTtlsOf } from './cache-policy';
import { MemoryFieldStore, RedisFieldStore, type FieldStore, type StoredField } from './field-store';
import { SingleFlight, type Fill } from './single-flight';

export interface FieldLookup {
  readonly key: string;
  readonly resource: string;
}

/** What a lookup found: entries by key, and the fills this request now leads. */
export interface LookupResult {
  readonly found: Map<string, StoredField>;
  /** Keys this request must execute and then settle (it leads their single flight). */
  readonly fills: Map<string, Fill<StoredField>>;
}

/**
 * The per-field cache of one gateway instance: the store, the single-flight table, TTLs and
 * purges. The Apollo plugin (field-cache-plugin.ts) decides what to look up and store.
 */
export class FieldCache {
  readonly flights: SingleFlight<StoredField>;

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

  /** Store lookups only, no waiting (the rate limiter's "answer from cache" path). */
  async peek(keys: readonly string[]): Promise<Map<string, StoredField>> {
    const found = new Map<string, StoredField>();
    if (!this.store.usable() || keys.length === 0) return found;
    try {
      const values = await this.store.getMany(keys);
      keys.forEach((k, i) => values[i] && found.set(k, values[i]!));
    } catch (err) {
      this.logger.debug({ err }, 'cache read failed');
    }
    return found;
  }

  /**
   * Looks the keys up; keys that another request of this instance is filling are waited for;
   * the rest are claimed by this request. Counts hits and misses per resource.
   */
  async lookup(fields: readonly FieldLookup[]): Promise<LookupResult> {
    const found = new Map<string, StoredField>();
    const fills = new Map<string, Fill<StoredField>>();
    const unique = [...new Map(fields.map((f) => [f.key, f])).values()];
    const waits = new Map<string, Promise<StoredField | undefined>>();
    // In-flight first: followers need no Redis round trip.
    for (const f of unique) {
      const w = this.flights.follow(f.key);
      if (w) waits.set(f.key, w);
    }
    const toRead = unique.filter((f) => !waits.has(f.key)).map((f) => f.key);
    if (toRead.length) {
      try {
        const values = await this.store.getMany(toRead);
        toRead.forEach((k, i) => values[i] && found.set(k, values[i]!));
      } catch (err) {
        cacheBypassTotal.inc({ reason: 'store_error' });
        this.logger.debug({ err }, 'cache read failed; answering from the database');
      }
      // One synchronous step: follow what others claimed meanwhile, claim the rest.
      for (const k of toRead) {
        if (found.has(k)) continue;
        const w = this.flights.follow(k);
        if (w) waits.set(k, w);
        else fills.set(k, this.flights.lead(k)!);
      }
    }
    await Promise.all(
      [...waits].map(async ([k, w]) => {
        const v = await w;
        if (v) found.set(k, v);
      }),
    );
    for (const f of unique) (found.has(f.key) ? cacheHitsTotal : cacheMissesTotal).inc({ resource: f.resource });
    return { found, fills };
  }

  /** Stores a field's canonical value. Never throws: a failed write is only a later miss. */
  async save(key: string, entry: StoredField, viewer: Pick<Viewer, 'orgId' | 'projectIds'>): Promise<void> {
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
    ? new RedisFieldStore(redis, { ...storeOpts, timeoutMs: c.redisTimeoutMs })
    : new MemoryFieldStore({ ...storeOpts, maxBytes: c.memoryMaxBytes });
  return new FieldCache(store, { enabled: c.enabled, keyPrefix: config.redisKeyPrefix, ttlOverrides: c.ttlOverrides, fillWaitMs: c.fillWaitMs }, logger);
}
