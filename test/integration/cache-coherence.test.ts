import type { RunningGateway } from '../../src/app';
import type { RedisFieldStore } from '../../src/cache/redis-field-store';
import { startTestGateway } from '../support/gateway';
import { REDIS_URL, debugGql, deleteKeysWithPrefix, keysWithPrefix, startCacheFixture, uniquePrefix, type CacheFixture } from '../support/cache-fixture';
import { TcpProxy } from '../support/tcp-proxy';
import { gql } from '../support/gateway';

/**
 * The per-instance L1 in front of Redis, with two (or three) gateways on one Redis: a purge on
 * one instance and an expired entry stop being served by every instance, and an instance that
 * could not hear purges for a while drops its copies.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const l1Of = (gw: RunningGateway) => (gw.services.cache!.store as RedisFieldStore).l1;

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000, every = 20): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

describe('per-field cache L1: coherent across instances', () => {
  let f: CacheFixture;
  let b: RunningGateway;
  let proxy: TcpProxy;
  const redisPort = Number(new URL(REDIS_URL).port || 6379);
  const gateway = (env: Record<string, string>) =>
    startTestGateway({
      DATABASE_URL: f.gw.services.config.database.url!,
      DATABASE_MODE: 'postgres',
      DB_POOL_MIN: '0',
      DEMO_DATA: 'false',
      RATE_LIMIT_ENABLED: 'false',
      CACHE_WARM_ON_START: 'false',
      ...env,
    });

  beforeAll(async () => {
    f = await startCacheFixture('coherence');
    // B reaches the same Redis through a proxy the test can cut.
    proxy = new TcpProxy(redisPort);
    await proxy.start();
    b = await gateway({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_KEY_PREFIX: f.prefix });
  }, 300_000);
  afterAll(async () => {
    await b?.stop();
    await proxy?.stop();
    await f?.stop();
  });

  const key = () => f.keys[`${f.orgs[0]}:ADMIN`]!;
  /** Asks B until its answer comes from its own L1 (the invalidation channel is live by then). */
  const copyOnB = (q: string) => until(`an L1 copy on B of ${q}`, async () => (await debugGql(b.url, key(), q)).body.extensions?.cache?.traces?.from === 'l1');

  it('stops serving an entry on every instance once one instance purges it (within 100 ms)', async () => {
    const q = '{ traces(first: 6) { nodes { id model } } }';
    expect((await debugGql(f.gw.url, key(), q)).body.extensions?.cache.traces.hit).toBe(false);
    await copyOnB(q);
    const [redisKey] = await keysWithPrefix(f.redis, `${f.prefix}analytics:traces:${f.orgs[0]}:`);
    expect(l1Of(b).get(redisKey!)).toBeDefined();

    const purged = await gql(f.gw.url, key(), 'mutation { purgeCache(resource: "traces") { deleted } }');
    expect(purged.body.data.purgeCache.deleted).toBe(1);
    const t0 = performance.now();
    await until('B to drop its copy', () => l1Of(b).get(redisKey!) === undefined, 5000, 1);
    const propagationMs = performance.now() - t0;
    console.log(`purge on A reached B's L1 in ${propagationMs.toFixed(1)} ms`);
    expect(propagationMs).toBeLessThan(100);

    const after = await debugGql(b.url, key(), q);
    expect(after.body.extensions?.cache.traces.hit).toBe(false);
    expect(after.body.data).toEqual((await gql(f.plain.url, key(), q)).body.data);
  });

  it('lets no copy outlive its Redis entry: expired on every instance with its TTL', async () => {
    const prefix = uniquePrefix('coherence-ttl');
    const a2 = await gateway({ REDIS_URL, REDIS_KEY_PREFIX: prefix, CACHE_TTLS: 'traces=1' });
    const b2 = await gateway({ REDIS_URL, REDIS_KEY_PREFIX: prefix, CACHE_TTLS: 'traces=1' });
    try {
      const q = '{ traces(first: 3) { nodes { id } } }';
      expect((await debugGql(a2.url, key(), q)).body.extensions?.cache.traces.hit).toBe(false);
      const seen = await until('an L1 copy on the second instance', async () => {
        const r = await debugGql(b2.url, key(), q);
        return r.body.extensions?.cache.traces.from === 'l1' && r;
      });
      expect(seen.body.extensions?.cache.traces.ttlSeconds).toBe(1);
      await sleep(1100);
      expect((await debugGql(b2.url, key(), q)).body.extensions?.cache.traces.hit).toBe(false);
    } finally {
      await a2.stop();
      await b2.stop();
      await deleteKeysWithPrefix(f.redis, prefix);
    }
  });

  it('drops its copies while it cannot hear purges, and serves none of what was purged meanwhile', async () => {
    const q = '{ traces(first: 7) { nodes { id totalCostUsd } } }';
    await debugGql(f.gw.url, key(), q);
    await copyOnB(q);
    expect(l1Of(b).size).toBeGreaterThan(0);
    await proxy.stop(); // B loses Redis (and its subscription)
    await until('B to empty its L1', () => l1Of(b).size === 0 || undefined);
    // Meanwhile A purges: B cannot hear it.
    await gql(f.gw.url, key(), 'mutation { purgeCache(resource: "traces") { deleted } }');
    // While Redis is out of reach B answers from the database.
    const cut = await debugGql(b.url, key(), q);
    expect(cut.body.extensions?.cache.traces.hit).toBe(false);
    await proxy.start();
    await until('B to reach Redis again', async () => ((await (await fetch(b.url.replace('/graphql', '/health/ready'))).json()) as { status: string }).status === 'healthy');
    const back = await debugGql(b.url, key(), q);
    expect(back.body.extensions?.cache.traces.hit).toBe(false);
    expect(back.body.data).toEqual((await gql(f.plain.url, key(), q)).body.data);
  });
});
