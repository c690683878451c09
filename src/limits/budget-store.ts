import { createHash } from 'node:crypto';
import type { RedisConnection } from '../redis/redis-connection';

/** One token bucket: `capacity` points (burst), refilled at `perMinute` per minute. */
export interface BucketSpec {
  readonly key: string;
  readonly capacity: number;
  readonly perMinute: number;
}

export type LimitStoreMode = 'redis' | 'memory';

export interface TakeResult {
  /** Every bucket had enough and all were charged; otherwise none was. */
  readonly allowed: boolean;
  /** Index of the first bucket that lacked points (-1 when allowed). */
  readonly failed: number;
  /** Points left in each bucket after this call. */
  readonly remaining: readonly number[];
  readonly store: LimitStoreMode;
}

export interface BudgetStore {
  /** Check and take `costs[i]` from every bucket, atomically: all or nothing. */
  take(buckets: readonly BucketSpec[], costs: readonly number[]): Promise<TakeResult>;
  /** Give points back (never above capacity) to the store that took them; the points left. */
  refund(bucket: BucketSpec, points: number, where?: LimitStoreMode): Promise<{ remaining: number; store: LimitStoreMode }>;
  mode(): LimitStoreMode;
}

/*
 * Token buckets in Redis, one script call per request. Time comes from Redis (TIME), so that
 * instances with skewed clocks share one notion of refill. A bucket key expires once it would
 * be full again anyway. Every bucket of a request shares one hash tag, so one cluster slot.
 */
export const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local tokens = {}
local failed = 0
for i = 1, n do
  local cap = tonumber(ARGV[(i - 1) * 3 + 1])
  local rate = tonumber(ARGV[(i - 1) * 3 + 2])
  local cost = tonumber(ARGV[(i - 1) * 3 + 3])
  local v = redis.call('HMGET', KEYS[i], 't', 'ts')
  local tok = tonumber(v[1])
  local ts = tonumber(v[2])
  if tok == nil or ts == nil then tok = cap; ts = now end
  if now > ts then tok = math.min(cap, tok + (now - ts) * rate) end
  tokens[i] = tok
  if failed == 0 and cost > tok then failed = i end
end
for i = 1, n do
  local cap = tonumber(ARGV[(i - 1) * 3 + 1])
  local rate = tonumber(ARGV[(i - 1) * 3 + 2])
  if failed == 0 then tokens[i] = tokens[i] - tonumber(ARGV[(i - 1) * 3 + 3]) end
  redis.call('HSET', KEYS[i], 't', tostring(tokens[i]), 'ts', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(cap / rate) + 60000)
end
local out = { failed }
for i = 1, n do out[#out + 1] = tostring(tokens[i]) end
return out
`;

export const REFUND_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 't', 'ts')
local tok = tonumber(v[1])
local ts = tonumber(v[2])
if tok == nil or ts == nil then tok = cap; ts = now end
if now > ts then tok = tok + (now - ts) * rate end
tok = math.min(cap, tok + tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 't', tostring(tok), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate) + 60000)
return tostring(tok)
`;

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const ratePerMs = (b: BucketSpec) => b.perMinute / 60_000;

/** Per-instance buckets: the fallback while Redis is absent or down (each instance then allows its own burst). */
export class MemoryBudgetStore implements BudgetStore {
  private readonly buckets = new Map<string, { tokens: number; ts: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  mode(): LimitStoreMode {
    return 'memory';
  }

  private current(b: BucketSpec, now: number): { tokens: number; ts: number } {
    let s = this.buckets.get(b.key);
    if (!s) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
      s = { tokens: b.capacity, ts: now };
      this.buckets.set(b.key, s);
    }
    if (now > s.ts) s.tokens = Math.min(b.capacity, s.tokens + (now - s.ts) * ratePerMs(b));
    s.ts = now;
    return s;
  }

  async take(buckets: readonly BucketSpec[], costs: readonly number[]): Promise<TakeResult> {
    const now = this.now();
    const states = buckets.map((b) => this.current(b, now));
    const failed = states.findIndex((s, i) => costs[i]! > s.tokens);
    if (failed === -1) states.forEach((s, i) => (s.tokens -= costs[i]!));
    return { allowed: failed === -1, failed, remaining: states.map((s) => s.tokens), store: 'memory' };
  }

  async refund(bucket: BucketSpec, points: number) {
    const s = this.current(bucket, this.now());
    s.tokens = Math.min(bucket.capacity, s.tokens + points);
    return { remaining: s.tokens, store: 'memory' as const };
  }
}

/** Shared buckets in Redis (EVALSHA, EVAL on NOSCRIPT). Throws when Redis does not answer. */
export class RedisBudgetStore implements BudgetStore {
  private readonly takeSha = sha1(TAKE_SCRIPT);
  private readonly refundSha = sha1(REFUND_SCRIPT);

  constructor(
    private readonly redis: RedisConnection,
    private readonly timeoutMs = 500,
  ) {}

  mode(): LimitStoreMode {
    return 'redis';
  }

  private async run(script: string, sha: string, keys: string[], args: string[]): Promise<unknown> {
    // command(): the deadline, and timeouts feed the connection's circuit breaker.
    return this.redis.command('rate limit', this.timeoutMs, (client) =>
      client.evalSha(sha, { keys, arguments: args }).catch((err: Error) => {
        if (!String(err?.message).startsWith('NOSCRIPT')) throw err;
        return client.eval(script, { keys, arguments: args });
      }),
    );
  }

  async take(buckets: readonly BucketSpec[], costs: readonly number[]): Promise<TakeResult> {
    const args = buckets.flatMap((b, i) => [String(b.capacity), String(ratePerMs(b)), String(costs[i])]);
    const reply = (await this.run(TAKE_SCRIPT, this.takeSha, buckets.map((b) => b.key), args)) as [number, ...string[]];
    const failed = Number(reply[0]) - 1;
    return { allowed: failed === -1, failed, remaining: reply.slice(1).map(Number), store: 'redis' };
  }

  async refund(bucket: BucketSpec, points: number) {
    const reply = await this.run(REFUND_SCRIPT, this.refundSha, [bucket.key], [String(bucket.capacity), String(ratePerMs(bucket)), String(points)]);
    return { remaining: Number(reply), store: 'redis' as const };
  }
}

/**
 * Redis while it is connected, per-instance memory while it is absent or down; switches back by
 * itself when the connection is ready again (the client reconnects on its own).
 */
export class FailoverBudgetStore implements BudgetStore {
  private readonly memory: MemoryBudgetStore;
  private readonly shared?: RedisBudgetStore;
  private lastMode: LimitStoreMode;

  constructor(
    private readonly redis: RedisConnection | undefined,
    opts: { timeoutMs?: number; now?: () => number; onFallback?: (err: unknown) => void } = {},
  ) {
    this.memory = new MemoryBudgetStore(opts.now);
    this.shared = redis ? new RedisBudgetStore(redis, opts.timeoutMs) : undefined;
    this.onFallback = opts.onFallback;
    this.lastMode = this.shared && redis?.isReady() ? 'redis' : 'memory';
  }

  private readonly onFallback?: (err: unknown) => void;

  mode(): LimitStoreMode {
    return this.shared && this.redis?.isReady() ? 'redis' : 'memory';
  }

  /** The store the last request used. */
  lastUsed(): LimitStoreMode {
    return this.lastMode;
  }

  async take(buckets: readonly BucketSpec[], costs: readonly number[]): Promise<TakeResult> {
    if (this.shared && this.redis?.isReady()) {
      try {
        const r = await this.shared.take(buckets, costs);
        this.lastMode = 'redis';
        return r;
      } catch (err) {
        this.onFallback?.(err);
      }
    }
    this.lastMode = 'memory';
    return this.memory.take(buckets, costs);
  }

  async refund(bucket: BucketSpec, points: number, where: LimitStoreMode = this.mode()) {
    // Points taken from memory go back to memory: adding them to the shared bucket would mint points.
    if (where === 'redis' && this.shared) {
      try {
        return await this.shared.refund(bucket, points);
      } catch (err) {
        this.onFallback?.(err);
        return { remaining: 0, store: 'redis' as const };
      }
    }
    return this.memory.refund(bucket, points);
  }
}
