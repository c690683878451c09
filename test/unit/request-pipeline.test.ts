import { ApolloServer } from '@apollo/server';
import { loadConfig } from '../../../src/config';
import { loadTypeDefs } from '../../../src/schema';
import { buildAuthorizedSchema } from '../../../src/auth';
import type { Viewer } from '../../../src/auth/viewer';
import { MemoryBudgetStore } from '../../../src/limits/budget-store';
import { documentLimitsPlugin, parseOptionsFor } from '../../../src/limits/document-limits-plugin';
import { rateLimitPlugin } from '../../../src/limits/rate-limit-plugin';
import { rateLimitResolvers } from '../../../src/limits/rate-limit.resolvers';
import type { CacheHooks } from '../../../src/limits/cache-hooks';

const config = loadConfig({ RATE_LIMIT_VIEWER_PER_MINUTE: '60', RATE_LIMIT_VIEWER_BURST: '100', MAX_QUERY_DEPTH: '6', MAX_QUERY_TOKENS: '400' });
const viewerOf = (role: Viewer['role'], keyId = 'k1'): Viewer => ({ orgId: 'org_a', orgName: 'A', role, projectIds: null, keyId, keyName: 'test' });

function serverWith(opts: { cache?: CacheHooks; now?: () => number } = {}) {
  const calls = { traces: 0 };
  const nodes = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `t${i}`, input: 'secret prompt' }));
  const schema = buildAuthorizedSchema(loadTypeDefs(), {
    ...rateLimitResolvers,
    Query: {
      ...rateLimitResolvers.Query,
      viewer: (_: unknown, __: unknown, ctx: { viewer: Viewer }) => ctx.viewer,
      traces: (_: unknown, args: { first: number }) => {
        calls.traces++;
        // the store holds only 3 rows: the estimate (first) is refunded down to 3
        return { rows: nodes(Math.min(3, args.first)) };
      },
    },
    TraceConnection: { nodes: (c: { rows: unknown[] }) => c.rows },
  });
  const store = new MemoryBudgetStore(opts.now);
  const limits = { maxDepth: config.limits.maxDepth, maxAliases: 30, maxTokens: config.limits.maxTokens, maxDirectives: 50 };
  const server = new ApolloServer({
    schema,
    parseOptions: parseOptionsFor(limits),
    plugins: [documentLimitsPlugin(limits), rateLimitPlugin({ config, store, cache: opts.cache, documentLimits: limits })],
  });
  const run = async (role: Viewer['role'], query: string, variables?: Record<string, unknown>) => {
    const res = await server.executeOperation({ query, variables }, { contextValue: { viewer: viewerOf(role), services: { config } } as never });
    const body: any = res.body.kind === 'single' ? res.body.singleResult : null;
    return { status: res.http.status ?? 200, headers: res.http.headers, body };
  };
  return { server, run, calls };
}

describe('rateLimitPlugin', () => {
  it('charges the estimate, refunds estimate − actual and reports both', async () => {
    const { run } = serverWith();
    const r = await run('VIEWER', '{ traces(first: 50) { nodes { id } } }');
    expect(r.body.extensions?.cost).toEqual({
      requestedQueryCost: 51,
      actualQueryCost: 4,
      throttleStatus: { maximumAvailable: 100, currentlyAvailable: 96, restoreRate: 1 },
    });
    expect(r.headers.get('ratelimit-policy')).toBe('60;w=60;burst=100');
    expect(r.headers.get('ratelimit')).toBe('limit=100, remaining=96, reset=4');
  });

  it('refuses over the remaining budget with 429, RATE_LIMITED, Retry-After from the restore rate; runs nothing', async () => {
    const now = 5_000_000;
    const { run, calls } = serverWith({ now: () => now });
    await run('VIEWER', '{ a: viewer { role } b: viewer { role } }'); // 98 left
    const r = await run('VIEWER', '{ traces(first: 99) { nodes { id } } }'); // costs 100
    expect(r.status).toBe(429);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', cost: 100, retryAfter: 2, throttleStatus: { currentlyAvailable: 98, restoreRate: 1 } });
    expect(r.headers.get('retry-after')).toBe('2');
    expect(calls.traces).toBe(0);
  });

  it('refuses an operation above the per-operation maximum (burst) with COST_LIMIT_EXCEEDED', async () => {
    const { run } = serverWith();
    const r = await run('VIEWER', '{ traces(first: 500) { nodes { id } } }');
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', limit: 100, cost: 501 });
  });

  it('rateLimit(dryRun: true) prices the document, runs nothing else and charges nothing', async () => {
    const { run, calls } = serverWith();
    const q = '{ rateLimit(dryRun: true) { dryRun requestedQueryCost currentlyAvailable maximumAvailable store } traces(first: 90) { nodes { id } } }';
    const r = await run('VIEWER', q);
    expect(r.body.data).toEqual({ rateLimit: { dryRun: true, requestedQueryCost: 92, currentlyAvailable: 100, maximumAvailable: 100, store: 'memory' } });
    expect(calls.traces).toBe(0);
    expect(r.body.extensions?.cost).toMatchObject({ requestedQueryCost: 92, actualQueryCost: 0 });
    const again = await run('VIEWER', q);
    expect(again.body.data.rateLimit.currentlyAvailable).toBe(100);
  });

  it('answers a refused request from the cache when the cache can, with X-Served-From-Cache', async () => {
    const cache: CacheHooks = { answerFromCache: async () => ({ data: { traces: { nodes: [{ id: 'cached' }] } } }) };
    const { run, calls } = serverWith({ cache });
    await run('VIEWER', '{ traces(first: 90) { nodes { id } } }');
    calls.traces = 0;
    const r = await run('VIEWER', '{ traces(first: 99) { nodes { id } } }');
    expect(r.status).toBe(200);
    expect(r.headers.get('x-served-from-cache')).toBe('true');
    expect(r.body.data).toEqual({ traces: { nodes: [{ id: 'cached' }] } });
    expect(calls.traces).toBe(0);
  });

  it('charges cached root fields one point (cacheReportFor)', async () => {
    const cache: CacheHooks = { cacheReportFor: () => new Map([['traces', { hit: true }]]) };
    const { run } = serverWith({ cache });
    const r = await run('VIEWER', '{ traces(first: 50) { nodes { id } } }');
    expect(r.body.extensions?.cost).toMatchObject({ requestedQueryCost: 51, actualQueryCost: 1 });
  });
});

describe('documentLimitsPlugin', () => {
  it('refuses with its own code, the limit in extensions, HTTP 400, and charges nothing', async () => {
    const { run } = serverWith();
    const deep = await run('ADMIN', '{ traces { nodes { session { traces { nodes { session { traces { nodes { id } } } } } } } } }');
    expect(deep.status).toBe(400);
    expect(deep.body.errors?.[0]?.extensions).toMatchObject({ code: 'DEPTH_LIMIT_EXCEEDED', limit: 6 });
    expect(deep.body.extensions?.cost).toBeUndefined();
    const tokens = await run('ADMIN', `{ ${'viewer { role } '.repeat(200)} }`);
    expect(tokens.status).toBe(400);
    expect(tokens.body.errors?.[0]?.extensions).toMatchObject({ code: 'TOKEN_LIMIT_EXCEEDED', limit: 400 });
  });
});

describe('@auth directive', () => {
  it('nulls restricted content with a FORBIDDEN error at its path, and refuses whole root fields', async () => {
    const { run } = serverWith();
    const v = await run('VIEWER', '{ traces(first: 2) { nodes { id input } } }');
    expect(v.body.data.traces.nodes).toEqual([
      { id: 't0', input: null },
      { id: 't1', input: null },
    ]);
    expect(v.body.errors?.map((e: any) => [e.path.join('.'), e.extensions.code])).toEqual([
      ['traces.nodes.0.input', 'FORBIDDEN'],
      ['traces.nodes.1.input', 'FORBIDDEN'],
    ]);
    const d = await run('DEVELOPER', '{ traces(first: 1) { nodes { input } } }');
    expect(d.body.data.traces.nodes[0].input).toBe('secret prompt');
    const b = await run('BILLING', '{ traces(first: 1) { nodes { id } } }');
    expect(b.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'TRACES_READ', role: 'BILLING' });
  });
});
