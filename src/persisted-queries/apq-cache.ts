import type { Logger } from 'pino';
import type { RedisConnection } from '../redis/redis-connection';

/**
 * The store behind Apollo's automatic persisted queries (`persistedQueries.cache`): hash →
 * query text. Apollo itself prefixes keys with "apq:", checks that a registered text hashes to
 * the hash it came with, and answers PERSISTED_QUERY_NOT_FOUND for unknown hashes.
 *
 * Redis (shared, so a query registered on one instance is known to all) behind a small
 * per-instance LRU. Unlike cached answers, an entry can never be stale (a hash names exactly one
 * text), so keeping per-instance copies and using them while Redis is down is safe. Operations
 * from the safelist manifest are pinned in memory and never expire.
 */
export class PersistedQueryStore {
  private readonly local = new Map<string, string>();
  private readonly pinned = new Map<string, string>();

  constructor(
    private readonly opts: {
      readonly redis?: RedisConnection;
      readonly keyPrefix: string;
      readonly maxLocalEntries?: number;
      readonly timeoutMs?: number;
      readonly logger: Logger;
    },
  ) {}

  /** Makes `query` known under Apollo's key for `sha256Hex`, for good (safelist manifests). */
  pin(sha256Hex: string, query: string): void {
    this.pinned.set(`apq:${sha256Hex}`, query);
  }

  async get(key: string): Promise<string | undefined> {
    const known = this.pinned.get(key) ?? this.local.get(key);
    if (known !== undefined) return known;
    const redis = this.opts.redis;
    if (!redis?.isReady()) return undefined;
    try {
      const value = await redis.command('APQ read', this.opts.timeoutMs ?? 250, (client) => client.get(this.opts.keyPrefix + key));
      if (typeof value !== 'string') return undefined;
      this.remember(key, value);
      return value;
    } catch (err) {
      this.opts.logger.debug({ err }, 'APQ read failed');
      return undefined;
    }
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    this.remember(key, value);
    const redis = this.opts.redis;
    if (!redis?.isReady()) return;
    const ttl = options?.ttl;
    try {
      await redis.command('APQ write', this.opts.timeoutMs ?? 250, (client) =>
        ttl ? client.set(this.opts.keyPrefix + key, value, { EX: ttl }) : client.set(this.opts.keyPrefix + key, value),
      );
    } catch (err) {
      this.opts.logger.debug({ err }, 'APQ write failed');
    }
  }

  async delete(key: string): Promise<boolean> {
    const had = this.local.delete(key);
    if (this.opts.redis?.isReady()) await this.opts.redis.client.del(this.opts.keyPrefix + key).catch(() => 0);
    return had;
  }

  private remember(key: string, value: string) {
    this.local.delete(key);
    this.local.set(key, value);
    const max = this.opts.maxLocalEntries ?? 2000;
    for (const oldest of this.local.keys()) {
      if (this.local.size <= max) break;
      this.local.delete(oldest);
    }
  }
}
