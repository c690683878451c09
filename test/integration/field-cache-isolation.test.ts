import type { RunningGateway } from '../../src/app';
import { WARM_COSTS_QUERY, WARM_PERFORMANCE_QUERY, warmCostsVariables } from '../../src/cache';
import { gql, startTestGateway } from '../support/gateway';
import { END, REDIS_URL, debugGql, deleteKeysWithPrefix, iso, startCacheFixture, uniquePrefix, type CacheFixture } from '../support/cache-fixture';

const DAY = 86_400_000;

/** A small deterministic PRNG (mulberry32): the same "random" queries on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const some = <T>(xs: readonly T[]): T[] => {
    const out = xs.filter(() => next() < 0.5);
    return out.length ? out : [pick(xs)];
  };
  return { next, pick, some };
}

describe('per-field cache: tenant and role isolation, TTLs, warming', () => {
  let f: CacheFixture;
  beforeAll(async () => {
    f = await startCacheFixture('isolation');
  }, 300_000);
  afterAll(async () => {
    await f?.stop();
  });

  it('never answers another org (or role, or scope) from the cache: random queries × random viewers equal the uncached answers', async () => {
    const r = rng(20240601);
    const ranges = [1, 2, 5].map((d) => `{from: "${iso(END.getTime() - d * DAY)}", to: "${iso(END.getTime())}"}`);
    const aliased = (name: string) => (r.next() < 0.3 ? `a${Math.floor(r.next() * 3)}: ${name}` : name);
    const ids: string[] = [];
    for (const org of f.orgs) {
      const res = await gql(f.plain.url, f.keys[`${org}:ADMIN`]!, '{ traces(first: 3) { nodes { id } } }');
      ids.push(...res.body.data.traces.nodes.map((n: { id: string }) => n.id));
    }
    const fields: Array<() => string> = [
      () => `traces(first: ${r.pick([2, 5, 8])}${r.next() < 0.5 ? ', orderBy: {field: COST}' : ''}) { ${aliased('nodes')} { ${r.some(['id', 'projectId', 'model', 'totalCostUsd', 'input', 'userId']).map(aliased).join(' ')} } }`,
      () => `trace(id: "${r.pick(ids)}") { ${r.some(['id', 'projectId', 'model', 'input', 'output']).join(' ')} }`,
      () => `costs(range: ${r.pick(ranges)}${r.next() < 0.5 ? ', groupBy: [PROJECT]' : ''}) { totals { ${r.some(['totalUsd', 'requestCount', 'promptUsd']).join(' ')} } groups { key { projectId } stats { totalUsd } } }`,
      () => `performance(range: ${r.pick(ranges)}, groupBy: [${r.pick(['MODEL', 'PROJECT'])}]) { totals { ${r.some(['requestCount', 'errorCount', 'errorRate']).join(' ')} } groups { key { model projectId } stats { requestCount } } }`,
      () => `compareModels(models: ${JSON.stringify(r.some(['gpt-4o', 'claude-sonnet-4', 'gemini-1.5-pro']))}, range: ${r.pick(ranges)}) { models { model requestCount } }`,
      () => `quality(range: ${r.pick(ranges)}) { traceCount scores { name count } }`,
      () => `searchTraces(query: "${r.pick(['gpt', 'user', 'the'])}", first: 5) { nodes { id projectId } }`,
    ];
    // A pool of documents, asked many times by many viewers: plenty of hits, and every pair of
    // viewers meets on the same documents.
    const pool = Array.from({ length: 24 }, () => `{ ${Array.from({ length: 1 + Math.floor(r.next() * 3) }, () => r.pick(fields)()).map((s, i) => `f${i}: ${s}`).join(' ')} }`);
    const viewers = f.orgs.flatMap((org) => ['ADMIN', 'DEVELOPER', 'VIEWER', 'BILLING', 'SCOPED'].map((role) => `${org}:${role}`));
    const expected = new Map<string, unknown>();
    let hits = 0;
    for (let i = 0; i < 160; i++) {
      const doc = r.pick(pool);
      const viewer = r.pick(viewers);
      const res = await debugGql(f.gw.url, f.keys[viewer]!, doc);
      const id = `${viewer}\n${doc}`;
      if (!expected.has(id)) {
        const plain = await gql(f.plain.url, f.keys[viewer]!, doc);
        expected.set(id, { data: plain.body.data ?? null, errors: plain.body.errors?.map((e) => e.extensions?.code) });
      }
      expect({ viewer, doc, data: res.body.data ?? null, errors: res.body.errors?.map((e) => e.extensions?.code) }).toEqual({ viewer, doc, ...(expected.get(id) as object) });
      hits += Object.values((res.body.extensions?.cache ?? {}) as Record<string, { hit: boolean }>).filter((c) => c.hit).length;
      // Belt and braces: no project of the other org ever appears.
      const org = viewer.split(':')[0]!;
      const foreign = f.orgs.filter((o) => o !== org).flatMap((o) => f.projects[o]!);
      for (const p of foreign) expect(JSON.stringify(res.body.data ?? null)).not.toContain(`"${p}"`);
    }
    expect(hits).toBeGreaterThan(20);
  });

  describe('with a second gateway on the same data', () => {
    let gw: RunningGateway;
    const prefix = uniquePrefix('ttl');
    afterEach(async () => {
      await gw?.stop();
      await deleteKeysWithPrefix(f.redis, prefix);
    });
    const start = (env: Record<string, string>) =>
      startTestGateway({
        DATABASE_URL: f.gw.services.config.database.url!,
        DATABASE_MODE: 'postgres',
        DB_POOL_MIN: '0',
        DEMO_DATA: 'false',
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        RATE_LIMIT_ENABLED: 'false',
        CACHE_WARM_ON_START: 'false',
        ...env,
      });

    it('expires each field after its own TTL (CACHE_TTLS override)', async () => {
      gw = await start({ CACHE_TTLS: 'traces=1' });
      const key = f.keys[`${f.orgs[0]}:ADMIN`]!;
      const q = `{ traces(first: 3) { nodes { id } } costs(range: {from: "${iso(END.getTime() - DAY)}", to: "${iso(END.getTime())}"}) { totals { totalUsd } } }`;
      const first = await debugGql(gw.url, key, q);
      expect(first.body.extensions?.cache).toMatchObject({ traces: { hit: false, ttlSeconds: 1 }, costs: { hit: false, ttlSeconds: 60 } });
      expect((await debugGql(gw.url, key, q)).body.extensions?.cache).toMatchObject({ traces: { hit: true }, costs: { hit: true } });
      await new Promise((res) => setTimeout(res, 1300));
      const later = await debugGql(gw.url, key, q);
      expect(later.body.extensions?.cache).toMatchObject({ traces: { hit: false }, costs: { hit: true } });
      expect(later.body.extensions?.cache.costs.ageSeconds).toBeGreaterThanOrEqual(1);
    });

    it('warms each active org at start, for ADMIN without scope only, and keeps orgs apart', async () => {
      gw = await start({ CACHE_WARM_ON_START: 'true' });
      const stats = await gw.cacheWarming!;
      expect(stats).toEqual({ orgs: 2, fields: 4, failed: 0 });
      for (const org of f.orgs) {
        const admin = f.keys[`${org}:ADMIN`]!;
        const perf = await debugGql(gw.url, admin, WARM_PERFORMANCE_QUERY);
        expect(perf.body.extensions?.cache.performance.hit).toBe(true);
        const costs = await debugGql(gw.url, admin, WARM_COSTS_QUERY, warmCostsVariables());
        expect(costs.body.extensions?.cache.costs.hit).toBe(true);
        expect(costs.body.data).toEqual((await gql(f.plain.url, admin, WARM_COSTS_QUERY, warmCostsVariables())).body.data);
        const viewer = await debugGql(gw.url, f.keys[`${org}:VIEWER`]!, WARM_COSTS_QUERY, warmCostsVariables());
        expect(viewer.body.extensions?.cache.costs.hit).toBe(false);
      }
      // Purging one org after warming leaves the other's warm entries.
      await gql(gw.url, f.keys[`${f.orgs[0]}:ADMIN`]!, 'mutation { purgeCache { deleted } }');
      expect((await debugGql(gw.url, f.keys[`${f.orgs[0]}:ADMIN`]!, WARM_PERFORMANCE_QUERY)).body.extensions?.cache.performance.hit).toBe(false);
      expect((await debugGql(gw.url, f.keys[`${f.orgs[1]}:ADMIN`]!, WARM_PERFORMANCE_QUERY)).body.extensions?.cache.performance.hit).toBe(true);
    });

    it('uses a bounded in-memory store when REDIS_URL is not set', async () => {
      gw = await start({ REDIS_URL: '' });
      expect(gw.services.cache!.store.kind).toBe('memory');
      const key = f.keys[`${f.orgs[1]}:VIEWER`]!;
      const q = '{ traces(first: 2) { nodes { id } } }';
      expect((await debugGql(gw.url, key, q)).body.extensions?.cache.traces.hit).toBe(false);
      const again = await debugGql(gw.url, key, q);
      expect(again.body.extensions?.cache.traces.hit).toBe(true);
      expect(again.body.data).toEqual((await gql(f.plain.url, key, q)).body.data);
    });
  });
});
