import { ApolloServer } from '@apollo/server';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { loadTypeDefs } from '../../src/schema';
import { buildAuthorizedSchema } from '../../src/auth';
import type { Viewer } from '../../src/auth/viewer';
import { createRequestContext, type AppServices } from '../../src/context';
import type { DatabaseHandle } from '../../src/db/database';
import { createFieldCache } from '../../src/cache/field-cache';
import { MemoryBudgetStore } from '../../src/limits/budget-store';
import { gatewayLimitsOver } from '../../src/limits';
import { createCostEstimators } from '../../src/cost-estimators';
import { rateLimitResolvers } from '../../src/limits/rate-limit.resolvers';
import { requestPipelinePlugin } from '../../src/pipeline/pipeline-plugin';
import type { OperationRecord } from '../../src/pipeline/operation-record';

/**
 * The request pipeline on a real Apollo Server with an in-memory budget store (its own clock)
 * and the in-memory per-field cache; resolvers are stubs that count their calls.
 */
const config = loadConfig({ RATE_LIMIT_VIEWER_PER_MINUTE: '60', RATE_LIMIT_VIEWER_BURST: '100', MAX_QUERY_DEPTH: '6', MAX_QUERY_TOKENS: '400' });
const logger = pino({ level: 'silent' });
const viewerOf = (role: Viewer['role'], keyId = 'k1'): Viewer => ({ orgId: 'org_a', orgName: 'A', role, projectIds: null, keyId, keyName: 'test' });

function serverWith(opts: { cache?: boolean; now?: () => number; env?: Record<string, string> } = {}) {
  const cfg = opts.env ? loadConfig({ RATE_LIMIT_VIEWER_PER_MINUTE: '60', RATE_LIMIT_VIEWER_BURST: '100', ...opts.env }) : config;
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
  const limits = gatewayLimitsOver(cfg, new MemoryBudgetStore(opts.now), createCostEstimators(cfg), logger);
  const cache = opts.cache ? createFieldCache(cfg, undefined, logger) : undefined;
  const services = { config: cfg, logger, cache, database: {} as DatabaseHandle } satisfies AppServices;
  const server = new ApolloServer({
    schema,
    parseOptions: limits.parseOptions,
    plugins: [requestPipelinePlugin({ config: cfg, limits, cache, metrics: false, logger })],
  });
  const records: OperationRecord[] = [];
  const run = async (role: Viewer['role'], query: string, variables?: Record<string, unknown>) => {
    const contextValue = createRequestContext(services, viewerOf(role), 'test');
    const res = await server.executeOperation({ query, variables }, { contextValue });
    const body: any = res.body.kind === 'single' ? res.body.singleResult : null;
    return { status: res.http.status ?? 200, headers: res.http.headers, body };
  };
  // The record of the last operation, as the stages left it (Apollo runs a copy of the context).
  server.addPlugin({ async requestDidStart(rc) { return { async willSendResponse() { records.push((rc.contextValue as { operation: OperationRecord }).operation); } }; } });
  return { server, run, calls, records };
}

describe('request pipeline: limits', () => {
  it('charges the estimate, refunds estimate − actual and reports both, with draft-10 RateLimit fields', async () => {
    const { run } = serverWith();
    const r = await run('VIEWER', '{ traces(first: 50) { nodes { id } } }');
    expect(r.body.extensions?.cost).toEqual({
      requestedQueryCost: 51,
      actualQueryCost: 4,
      throttleStatus: { maximumAvailable: 100, currentlyAvailable: 96, restoreRate: 1 },
    });
    expect(r.headers.get('ratelimit-policy')).toBe('"default";q=60;w=60');
    expect(r.headers.get('ratelimit')).toBe('"default";r=96;t=4');
  });

  it('sends the draft-07 fields when RATE_LIMIT_HEADERS=draft-07', async () => {
    const { run } = serverWith({ env: { RATE_LIMIT_HEADERS: 'draft-07' } });
    const r = await run('VIEWER', '{ traces(first: 50) { nodes { id } } }');
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

  it('refuses an unknown operationName with a coded 400, not a 500', async () => {
    const { run } = serverWith();
    const r = await run('VIEWER', 'query A { viewer { role } } query B { viewer { orgId } }');
    expect(r.status).toBe(400);
    expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
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

  it('refuses documents past a limit with its own code, the limit in extensions, HTTP 400, and charges nothing', async () => {
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

describe('request pipeline: limits and cache share one record', () => {
  it('charges a cached root field one point, and when every field is held locally takes only that', async () => {
    const { run, records, calls } = serverWith({ cache: true });
    const q = '{ traces(first: 50) { nodes { id } } }';
    const miss = await run('VIEWER', q);
    expect(miss.body.extensions?.cost).toMatchObject({ requestedQueryCost: 51, actualQueryCost: 4 });
    expect(records.at(-1)!.budget!.charged).toBe(51);
    const hit = await run('VIEWER', q);
    expect(calls.traces).toBe(1);
    expect(hit.body.data).toEqual(miss.body.data);
    expect(hit.body.extensions?.cost).toMatchObject({ requestedQueryCost: 51, actualQueryCost: 1 });
    // The memory store is not an L1: the estimate is taken, then 50 refunded.
    expect(records.at(-1)).toMatchObject({ answer: 'cache', cost: { requested: 51, actual: 1, refund: 50 } });
    expect(records.at(-1)!.budget!.charged).toBe(51);
  });

  it('answers a refused request from the cache when every field is cached, with X-Served-From-Cache', async () => {
    const now = 9_000_000;
    const { run, calls, records } = serverWith({ cache: true, now: () => now });
    const q = '{ traces(first: 90) { nodes { id } } }';
    expect((await run('VIEWER', q)).body.extensions?.cost).toMatchObject({ requestedQueryCost: 91, actualQueryCost: 4 }); // 96 left
    const thirty = `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: viewer { role }`).join(' ')} }`;
    for (let i = 0; i < 3; i++) expect((await run('VIEWER', thirty)).status).toBe(200); // 6 left
    const refused = await run('VIEWER', q);
    expect(refused.status).toBe(200);
    expect(refused.headers.get('x-served-from-cache')).toBe('true');
    expect(refused.headers.get('retry-after')).toBeUndefined();
    expect(refused.body.data.traces.nodes).toHaveLength(3);
    expect(refused.body.extensions?.cost).toMatchObject({ requestedQueryCost: 91, actualQueryCost: 0, throttleStatus: { currentlyAvailable: 6 } });
    expect(records.at(-1)).toMatchObject({ answer: 'cache-after-refusal', budget: { charged: 0 } });
    expect(calls.traces).toBe(1);
    // A refused request whose fields are not all cached is refused.
    const uncached = await run('VIEWER', '{ traces(first: 91) { nodes { id } } }');
    expect(uncached.status).toBe(429);
    expect(calls.traces).toBe(1);
  });

  it('fills the record in stage order: compiled, price, budget, cache, answer, cost', async () => {
    const { run, records } = serverWith({ cache: true });
    await run('DEVELOPER', '{ traces(first: 5) { nodes { id input } } viewer { role } }');
    const rec = records.at(-1)!;
    expect(Object.keys(rec)).toEqual(['compiled', 'price', 'budget', 'cache', 'answer', 'executed', 'cost']);
    expect(rec.compiled!.rootFields.map((f) => f.responseKey)).toEqual(['traces', 'viewer']);
    expect(rec.compiled!.cachePlan!.fields.map((f) => Boolean(f.cache))).toEqual([true, false]);
    expect(rec.answer).toBe('execution');
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
