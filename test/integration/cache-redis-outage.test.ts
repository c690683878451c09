import { gql } from '../support/gateway';
import { debugGql, ownRedis, startCacheFixture, type CacheFixture, type OwnRedis } from '../support/cache-fixture';

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('per-field cache when Redis goes away and comes back', () => {
  let redis: OwnRedis;
  let f: CacheFixture;
  beforeAll(async () => {
    // A redis-server of this test's own: stopping the machine's Redis would break other tests.
    redis = await ownRedis();
    await redis.start();
    f = await startCacheFixture('outage', { REDIS_URL: redis.url });
  }, 300_000);
  afterAll(async () => {
    await f?.stop();
    await redis?.stop();
  });

  it('answers from the database while Redis is down, reports degraded, and uses Redis again once it is back', async () => {
    const key = f.keys[`${f.orgs[0]}:ADMIN`]!;
    const q = '{ traces(first: 6) { nodes { id model } } viewer { orgId } }';
    const expected = (await gql(f.plain.url, key, q)).body.data;
    const ready = async () => (await (await fetch(f.gw.url.replace('/graphql', '/health/ready'))).json()) as { status: string };

    expect((await debugGql(f.gw.url, key, q)).body.extensions?.cache.traces.hit).toBe(false);
    expect((await debugGql(f.gw.url, key, q)).body.extensions?.cache.traces.hit).toBe(true);
    expect((await ready()).status).toBe('healthy');

    await redis.stop();
    await until('the client to notice', () => !f.gw.services.redis!.isReady());
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      const r = await debugGql(f.gw.url, key, q);
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data).toEqual(expected);
      expect(r.body.extensions?.cache.traces.hit).toBe(false);
      expect(Date.now() - t).toBeLessThan(2000); // no waiting on a dead Redis
    }
    expect((await ready()).status).toBe('degraded');

    await redis.start(); // empty: a restarted cache
    await until('the client to reconnect', () => f.gw.services.redis!.isReady());
    expect((await debugGql(f.gw.url, key, q)).body.extensions?.cache.traces.hit).toBe(false);
    const hit = await debugGql(f.gw.url, key, q);
    expect(hit.body.extensions?.cache.traces.hit).toBe(true);
    expect(hit.body.data).toEqual(expected);
    expect((await ready()).status).toBe('healthy');
  });
});
