import { gql } from '../support/gateway';
import { END, debugGql, iso, keysWithPrefix, startCacheFixture, type CacheFixture } from '../support/cache-fixture';

const DAY = 86_400_000;
const RANGE = `{from: "${iso(END.getTime() - 2 * DAY)}", to: "${iso(END.getTime())}"}`;
const TRACES = `traces(first: 5) { nodes { id projectId model totalCostUsd } }`;
const COSTS = `costs(range: ${RANGE}) { totals { totalUsd requestCount } }`;

describe('per-field cache over Redis', () => {
  let f: CacheFixture;
  let a: string;
  let b: string;
  beforeAll(async () => {
    f = await startCacheFixture('field-cache');
    [a, b] = f.orgs as [string, string];
  }, 300_000);
  afterAll(async () => {
    await f?.stop();
  });

  const key = (org: string, role: string) => f.keys[`${org}:${role}`]!;

  it('answers a miss, then a hit, identical to the uncached gateway', async () => {
    const q = `{ ${TRACES} ${COSTS} }`;
    const first = await debugGql(f.gw.url, key(a, 'ADMIN'), q);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.extensions?.cache).toEqual({
      traces: { hit: false, ageSeconds: 0, ttlSeconds: 30 },
      costs: { hit: false, ageSeconds: 0, ttlSeconds: 60 },
    });
    const second = await debugGql(f.gw.url, key(a, 'ADMIN'), q);
    expect(second.body.extensions?.cache.traces.hit).toBe(true);
    expect(second.body.extensions?.cache.costs.hit).toBe(true);
    expect(second.body.data).toEqual(first.body.data);
    const plain = await gql(f.plain.url, key(a, 'ADMIN'), q);
    expect(second.body.data).toEqual(plain.body.data);
    // One entry per field, under the layout prefix + analytics:{resource}:{org}:{scope}:{hash}.
    const keys = (await keysWithPrefix(f.redis, `${f.prefix}analytics:`)).filter((k) => k.includes(`:${a}:`));
    expect(keys.some((k) => new RegExp(`^${f.prefix}analytics:traces:${a}:all:[0-9a-f]{64}$`).test(k))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${f.prefix}analytics:costs:${a}:all:`))).toBe(true);
    // Without the header there is no cache extension.
    expect((await gql(f.gw.url, key(a, 'ADMIN'), q)).body.extensions?.cache).toBeUndefined();
  });

  it('keeps two orgs apart: same text and variables, different entries, own data only', async () => {
    const q = `query($n: Int) { traces(first: $n) { nodes { id projectId } } }`;
    const ra = await debugGql(f.gw.url, key(a, 'VIEWER'), q, { n: 7 });
    const rb = await debugGql(f.gw.url, key(b, 'VIEWER'), q, { n: 7 });
    expect(rb.body.extensions?.cache.traces.hit).toBe(false);
    for (const n of ra.body.data.traces.nodes) expect(f.projects[a]).toContain(n.projectId);
    for (const n of rb.body.data.traces.nodes) expect(f.projects[b]).toContain(n.projectId);
    const again = await debugGql(f.gw.url, key(b, 'VIEWER'), q, { n: 7 });
    expect(again.body.extensions?.cache.traces.hit).toBe(true);
    expect(again.body.data).toEqual(rb.body.data);
    const orgKeys = (org: string) => keysWithPrefix(f.redis, `${f.prefix}analytics:traces:${org}:`);
    expect((await orgKeys(a)).length).toBeGreaterThan(0);
    expect((await orgKeys(b)).length).toBeGreaterThan(0);
  });

  it('keeps roles apart: a VIEWER never gets the entry a DEVELOPER filled', async () => {
    // A trace inside the scoped key's project, so that every key below can read it (the newest trace of the org may lie outside it).
    const id = (await gql(f.plain.url, key(a, 'SCOPED'), '{ traces(first: 1) { nodes { id } } }')).body.data.traces.nodes[0].id;
    const q = `query($id: ID!) { trace(id: $id) { id model input output } }`;
    const dev = await debugGql(f.gw.url, key(a, 'DEVELOPER'), q, { id });
    expect(dev.body.extensions?.cache.trace.hit).toBe(false);
    const viewer = await debugGql(f.gw.url, key(a, 'VIEWER'), q, { id });
    expect(viewer.body.extensions?.cache.trace.hit).toBe(false);
    const viewerPlain = await gql(f.plain.url, key(a, 'VIEWER'), q, { id });
    expect(viewer.body).toEqual({ ...viewerPlain.body, extensions: viewer.body.extensions });
    // The DEVELOPER's answer is stored; the VIEWER's (refused content, with errors) is not.
    expect(await keysWithPrefix(f.redis, `${f.prefix}analytics:trace:${a}:all:`)).toHaveLength(1);
    // Same selection both may read: still one entry per role.
    const q2 = `query($id: ID!) { trace(id: $id) { id model } }`;
    for (const role of ['DEVELOPER', 'VIEWER']) expect((await debugGql(f.gw.url, key(a, role), q2, { id })).body.extensions?.cache.trace.hit).toBe(false);
    expect(await keysWithPrefix(f.redis, `${f.prefix}analytics:trace:${a}:all:`)).toHaveLength(3);
    // A project-scoped key has its own scope segment.
    await gql(f.gw.url, key(a, 'SCOPED'), q2, { id }); // a VIEWER: the selection it may read (content would be refused, and refusals are not stored)
    expect((await keysWithPrefix(f.redis, `${f.prefix}analytics:trace:${a}:p`)).length).toBe(1);
  });

  it('normalizes: reordered fields, aliases, fragments, variables vs literals share one entry; other arguments do not', async () => {
    const base = `{ compareModels(models: ["gpt-4o"], range: ${RANGE}) { models { model requestCount errorRate } } }`;
    const r0 = await debugGql(f.gw.url, key(a, 'ADMIN'), base);
    expect(r0.body.extensions?.cache.compareModels.hit).toBe(false);
    const variants: Array<[string, Record<string, unknown>?]> = [
      [`{ compareModels(range: ${RANGE}, models: ["gpt-4o"]) { models { errorRate requestCount model } } }`],
      [`{ cmp: compareModels(models: ["gpt-4o"], range: ${RANGE}) { m: models { n: model requestCount e: errorRate } } }`],
      [`query($m: [String!]!, $from: DateTime!, $to: DateTime!) { compareModels(models: $m, range: {from: $from, to: $to}) { ...M } } fragment M on ModelComparisonReport { models { model ... on ModelComparison { requestCount errorRate } } }`,
        { m: ['gpt-4o'], from: iso(END.getTime() - 2 * DAY), to: iso(END.getTime()) }],
      [`query($skip: Boolean!) { compareModels(models: "gpt-4o", range: ${RANGE}) { models { model requestCount errorRate provider @skip(if: $skip) } } }`, { skip: true }],
    ];
    for (const [q, vars] of variants) {
      const r = await debugGql(f.gw.url, key(a, 'ADMIN'), q, vars);
      expect(r.body.errors).toBeUndefined();
      const [responseKey] = Object.keys(r.body.data);
      expect(r.body.extensions?.cache[responseKey!]).toMatchObject({ hit: true });
      const plain = await gql(f.plain.url, key(a, 'ADMIN'), q, vars);
      expect(r.body.data).toEqual(plain.body.data); // own aliases and order
      expect(JSON.stringify(r.body.data)).toBe(JSON.stringify(plain.body.data));
    }
    const different = [
      `{ compareModels(models: ["gpt-4o", "claude-sonnet-4"], range: ${RANGE}) { models { model requestCount errorRate } } }`,
      `{ compareModels(models: ["gpt-4o"], range: ${RANGE}) { models { model requestCount } } }`,
      `{ compareModels(models: ["gpt-4o"], range: {from: "${iso(END.getTime() - 3 * DAY)}", to: "${iso(END.getTime())}"}) { models { model requestCount errorRate } } }`,
    ];
    for (const q of different) expect((await debugGql(f.gw.url, key(a, 'ADMIN'), q)).body.extensions?.cache.compareModels.hit).toBe(false);
    // Two aliases of one field with different arguments in one request: two entries, right data each.
    const two = await debugGql(f.gw.url, key(a, 'ADMIN'), `{ x: traces(first: 2) { nodes { id } } y: traces(first: 3) { nodes { id } } }`);
    expect(two.body.data.x.nodes).toHaveLength(2);
    expect(two.body.data.y.nodes).toHaveLength(3);
  });

  it('runs only the missing fields on a partial hit', async () => {
    const tracesOnly = `{ traces(first: 4, orderBy: {field: COST}) { nodes { id totalCostUsd } } }`;
    await gql(f.gw.url, key(b, 'ADMIN'), tracesOnly);
    const both = `{ traces(first: 4, orderBy: {field: COST}) { nodes { id totalCostUsd } } ${COSTS.replace('requestCount', 'requestCount promptUsd')} viewer { orgId } }`;
    const { result, sql } = await f.statementsDuring(() => debugGql(f.gw.url, key(b, 'ADMIN'), both));
    expect(result.body.errors).toBeUndefined();
    expect(result.body.extensions?.cache).toMatchObject({ traces: { hit: true }, costs: { hit: false }, viewer: { hit: false, ttlSeconds: 0 } });
    expect(Object.keys(result.body.data)).toEqual(['traces', 'costs', 'viewer']);
    expect(sql.some((s) => s.includes('findTraces'))).toBe(false);
    expect(sql.length).toBeGreaterThan(0); // costs ran
    expect(result.body.data).toEqual((await gql(f.plain.url, key(b, 'ADMIN'), both)).body.data);
  });

  it('fills a key once for 100 concurrent identical misses', async () => {
    const q = `{ traces(first: 37, orderBy: {field: DURATION}) { nodes { id durationMs } } }`;
    const { result, sql } = await f.statementsDuring(() => Promise.all(Array.from({ length: 100 }, () => gql(f.gw.url, key(a, 'VIEWER'), q))));
    for (const r of result) {
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data).toEqual(result[0]!.body.data);
    }
    expect(sql.filter((s) => s.includes('findTraces'))).toHaveLength(1);
  });

  it('sets GET caching headers from the smallest TTL; POST and uncacheable fields are no-store', async () => {
    const get = async (query: string) =>
      fetch(`${f.gw.url}?query=${encodeURIComponent(query)}`, { headers: { authorization: `Bearer ${key(a, 'ADMIN')}`, 'apollo-require-preflight': 'true' } });
    const r1 = await get(`{ ${TRACES} ${COSTS} }`);
    expect(r1.status).toBe(200);
    expect(r1.headers.get('cache-control')).toBe('private, max-age=30');
    expect(r1.headers.get('vary')).toMatch(/Authorization/);
    expect((await get(`{ ${COSTS} }`)).headers.get('cache-control')).toBe('private, max-age=60');
    expect((await get(`{ ${COSTS} viewer { orgId } }`)).headers.get('cache-control')).toBe('no-store');
    expect((await get(`{ trace(id: "not-a-uuid") { id } }`)).headers.get('cache-control')).toBe('no-store');
    expect((await gql(f.gw.url, key(a, 'ADMIN'), `{ ${COSTS} }`)).headers.get('cache-control')).toBe('no-store');
  });

  it('purges: ADMIN only, own org only, by resource or all', async () => {
    const q = `{ ${TRACES} ${COSTS} }`;
    for (const org of [a, b]) await gql(f.gw.url, key(org, 'ADMIN'), q);
    const refused = await gql(f.gw.url, key(a, 'DEVELOPER'), 'mutation { purgeCache { deleted } }');
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const bad = await gql(f.gw.url, key(a, 'ADMIN'), 'mutation { purgeCache(resource: "viewer*") { deleted } }');
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const count = async (org: string, resource = '*') => (await keysWithPrefix(f.redis, `${f.prefix}analytics:${resource}:${org}:`)).length;
    const bBefore = await count(b);
    const costsOnly = await gql(f.gw.url, key(a, 'ADMIN'), 'mutation { purgeCache(resource: "costs") { deleted resource } }');
    expect(costsOnly.body.data.purgeCache.deleted).toBeGreaterThan(0);
    expect(await count(a, 'costs')).toBe(0);
    expect(await count(a, 'traces')).toBeGreaterThan(0);
    const all = await gql(f.gw.url, key(a, 'ADMIN'), 'mutation { purgeCache { deleted } }');
    expect(all.body.data.purgeCache.deleted).toBeGreaterThan(0);
    expect(await count(a)).toBe(0);
    expect(await count(b)).toBe(bBefore);
    // After the purge each org still gets exactly its own answers.
    for (const org of [a, b]) {
      const r = await debugGql(f.gw.url, key(org, 'ADMIN'), q);
      expect(r.body.extensions?.cache.traces.hit).toBe(org === b);
      expect(r.body.data).toEqual((await gql(f.plain.url, key(org, 'ADMIN'), q)).body.data);
    }
  });

  it('purges a project: entries whose scope holds it and org-wide ones, not other scopes', async () => {
    const q = `{ ${TRACES} }`;
    await gql(f.gw.url, key(a, 'ADMIN'), q);
    await gql(f.gw.url, key(a, 'SCOPED'), q);
    const projectOfScoped = f.projects[a]![0]!;
    const otherProject = f.projects[a]![1]!;
    const scopedKeys = () => keysWithPrefix(f.redis, `${f.prefix}analytics:traces:${a}:p`);
    const allKeys = () => keysWithPrefix(f.redis, `${f.prefix}analytics:traces:${a}:all:`);
    expect((await scopedKeys()).length).toBeGreaterThan(0);
    await gql(f.gw.url, key(a, 'ADMIN'), `mutation($p: ID) { purgeCache(resource: "traces", projectId: $p) { deleted } }`, { p: otherProject });
    expect((await scopedKeys()).length).toBeGreaterThan(0);
    expect(await allKeys()).toEqual([]);
    await gql(f.gw.url, key(a, 'ADMIN'), q);
    const n = await f.gw.services.cache!.purgeProjectEntries(a, projectOfScoped);
    expect(n).toBeGreaterThan(0);
    expect(await scopedKeys()).toEqual([]);
    expect(await allKeys()).toEqual([]);
  });

  it('counts hits and misses per resource in the metrics', async () => {
    const res = await fetch(f.gw.url.replace('/graphql', '/metrics'));
    const text = await res.text();
    expect(text).toMatch(/cache_hits_total\{resource="traces"\} [1-9]/);
    expect(text).toMatch(/cache_misses_total\{resource="costs"\} [1-9]/);
    expect(text).toMatch(/cache_size_bytes [1-9]/);
  });
});
