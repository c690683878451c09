import { createClient } from '@redis/client';
import { connectRedis, type RedisConnection } from '../../../src/redis/redis-connection';
import { FailoverBudgetStore, MemoryBudgetStore, RedisBudgetStore, type BudgetStore } from '../../../src/limits/budget-store';
import { rateLimitHeaders, retryAfterSeconds, secondsUntilFull, throttleStatusOf } from '../../../src/limits/rate-limit-headers';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `test:budget:${process.pid}:${Date.now()}:`;

describe('rate-limit headers', () => {
  it('formats RateLimit-Policy and RateLimit (draft-10 structured fields, or draft-07) and computes reset and Retry-After from the restore rate', () => {
    const t = throttleStatusOf(12_000, 10_000, 11_874.6);
    expect(t).toEqual({ maximumAvailable: 12_000, currentlyAvailable: 11_874, restoreRate: 166.667 });
    expect(rateLimitHeaders(t, 10_000)).toEqual({ 'ratelimit-policy': '"default";q=10000;w=60', ratelimit: '"default";r=11874;t=1' });
    expect(rateLimitHeaders(t, 10_000, 'draft-07')).toEqual({ 'ratelimit-policy': '10000;w=60;burst=12000', ratelimit: 'limit=12000, remaining=11874, reset=1' });
    expect(secondsUntilFull(throttleStatusOf(1200, 1000, 0))).toBe(72);
    // 100 points short at 1000/min (16.67/s): 6 s
    expect(retryAfterSeconds(150, 50, 1000)).toBe(6);
    expect(retryAfterSeconds(51, 50, 60)).toBe(1);
  });
});

function contract(name: string, make: () => { store: BudgetStore; key: (k: string) => string; advance?: (ms: number) => void }) {
  describe(name, () => {
    it('takes while there are points, refuses without charging, refills at the rate', async () => {
      const { store, key } = make();
      const b = { key: key('bucket'), capacity: 100, perMinute: 60 };
      expect((await store.take([b], [60])).allowed).toBe(true);
      const refused = await store.take([b], [60]);
      expect(refused.allowed).toBe(false);
      expect(refused.failed).toBe(0);
      expect(refused.remaining[0]).toBeGreaterThanOrEqual(40);
      expect(refused.remaining[0]).toBeLessThan(42);
      const ok = await store.take([b], [40]);
      expect(ok.allowed).toBe(true);
    });

    it('is all-or-nothing across the budget and per-field buckets', async () => {
      const { store, key } = make();
      const budget = { key: key('b2'), capacity: 1000, perMinute: 1000 };
      const field = { key: key('f2'), capacity: 2, perMinute: 2 };
      expect((await store.take([budget, field], [10, 2])).allowed).toBe(true);
      const r = await store.take([budget, field], [10, 1]);
      expect(r).toMatchObject({ allowed: false, failed: 1 });
      expect(r.remaining[0]).toBeGreaterThanOrEqual(990); // the budget was not charged
      expect(r.remaining[0]).toBeLessThan(992);
    });

    it('refunds up to the capacity, never above', async () => {
      const { store, key } = make();
      const b = { key: key('b3'), capacity: 100, perMinute: 6 };
      await store.take([b], [80]);
      const after = await store.refund(b, 50, store.mode());
      expect(after.remaining).toBeGreaterThanOrEqual(70);
      expect(after.remaining).toBeLessThan(71);
      expect((await store.refund(b, 1000, store.mode())).remaining).toBe(100);
    });
  });
}

let now = 1_000_000;
contract('MemoryBudgetStore', () => ({ store: new MemoryBudgetStore(() => now), key: (k) => `${k}:${Math.random()}` }));

describe('Redis stores', () => {
  let redis: RedisConnection;
  beforeAll(async () => {
    redis = await connectRedis(REDIS_URL);
  });
  afterAll(async () => {
    const c = createClient({ url: REDIS_URL });
    await c.connect();
    for await (const keys of c.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 500 })) if (keys.length) await c.del(keys);
    await c.quit();
    await redis.close();
  });

  contract('RedisBudgetStore', () => ({ store: new RedisBudgetStore(redis), key: (k) => `${PREFIX}${k}:${Math.random()}` }));

  it('FailoverBudgetStore uses Redis while it is ready, memory without it', async () => {
    const shared = new FailoverBudgetStore(redis);
    expect(shared.mode()).toBe('redis');
    const b = { key: `${PREFIX}fo`, capacity: 10, perMinute: 10 };
    expect((await shared.take([b], [4])).store).toBe('redis');
    const other = new FailoverBudgetStore(redis);
    // a second instance sees the same bucket
    expect((await other.take([b], [7])).allowed).toBe(false);
    const alone = new FailoverBudgetStore(undefined);
    expect(alone.mode()).toBe('memory');
    expect((await alone.take([b], [7])).allowed).toBe(true);
  });
});

afterAll(() => {
  now += 0;
});
