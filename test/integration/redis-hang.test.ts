import { gql } from '../support/gateway';
import { debugGql, ownRedis, type OwnRedis } from '../support/cache-fixture';
import { startOpsGateway, type OpsGateway } from '../support/ops-gateway';
import { delta, scrape } from '../support/prom-text';

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a hung Redis (process stopped, connections open): the circuit breaker', () => {
  let redis: OwnRedis;
  let ops: OpsGateway;
  beforeAll(async () => {
    // A redis-server of this test's own: the machine's Redis is never stopped.
    redis = await ownRedis();
    await redis.start();
    ops = await startOpsGateway({
      REDIS_URL: redis.url,
      CACHE_ENABLED: 'true',
      CACHE_REDIS_TIMEOUT_MS: '250',
      REDIS_BREAKER_THRESHOLD: '3',
      REDIS_BREAKER_PROBE_INTERVAL_MS: '200',
      HEALTH_CHECK_TIMEOUT_MS: '300',
    });
  });
  afterAll(async () => {
    redis?.thaw();
    await ops?.stop();
    await redis?.stop();
  });

  it('opens after consecutive timeouts, then limits and cache skip Redis at once; a probe closes it when Redis answers', async () => {
    const q = '{ traces(first: 5) { nodes { id model } } }';
    const ready = async () => (await (await fetch(`${ops.base}/health/ready`)).json()) as any;
    const metrics = `${ops.base}/metrics`;
    const expected = (await debugGql(ops.gw.url, ops.key, q)).body.data;
    expect((await debugGql(ops.gw.url, ops.key, q)).body.extensions?.cache.traces.hit).toBe(true);
    expect(await ready()).toMatchObject({ status: 'healthy', limits: 'redis', checks: { redis: { status: 'up', circuit: { state: 'closed' } } } });
    const start = await scrape(metrics);

    redis.freeze();
    // The first requests wait out their command timeouts (counted as store errors) and open it.
    for (let i = 0; i < 3; i++) {
      const r = await gql(ops.gw.url, ops.key, q);
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data).toEqual(expected);
    }
    const open = await until('the circuit to open', ready, (r) => r.checks.redis.circuit.state === 'open');
    expect(open).toMatchObject({ status: 'degraded', limits: 'memory', checks: { database: { status: 'up' }, redis: { status: 'down' } } });
    expect(open.checks.redis.error).toMatch(/circuit breaker open/);

    // Open: no request touches Redis any more — every lookup is a bypass, none a timeout.
    const before = await scrape(metrics);
    expect(before.get('redis_circuit_open')).toBe(1);
    expect(delta(start, before, 'redis_circuit_opened_total')).toBe(1);
    for (let i = 0; i < 5; i++) {
      const r = await debugGql(ops.gw.url, ops.key, q);
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data).toEqual(expected);
      expect(r.body.extensions?.cache.traces.hit).toBe(false);
      expect(r.body.extensions?.cost.throttleStatus.currentlyAvailable).toBeGreaterThan(0); // limits ran, in memory
    }
    const after = await scrape(metrics);
    expect(delta(before, after, 'cache_bypass_total', { reason: 'redis_down' })).toBe(5);
    expect(delta(before, after, 'cache_bypass_total', { reason: 'store_error' })).toBe(0);

    redis.thaw();
    const closed = await until('the probe to close the circuit', ready, (r) => r.status === 'healthy');
    expect(closed).toMatchObject({ limits: 'redis', checks: { redis: { status: 'up', circuit: { state: 'closed', opened: 1 } } } });
    expect((await scrape(metrics)).get('redis_circuit_open')).toBe(0);
    const hit = await until('a cache hit again', () => debugGql(ops.gw.url, ops.key, q), (r) => r.body.extensions?.cache.traces.hit === true);
    expect(hit.body.data).toEqual(expected);
  });
});
