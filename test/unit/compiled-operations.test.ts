import { getOperationAST, parse } from 'graphql';
import { loadConfig } from '../../src/config';
import { loadTypeDefs } from '../../src/schema';
import { buildAuthorizedSchema } from '../../src/auth';
import type { Viewer } from '../../src/auth/viewer';
import { cacheTtlsOf } from '../../src/cache/cache-policy';
import { CompiledOperations, type CompileRequest } from '../../src/pipeline/compiled-operation';
import { MemoryBudgetStore } from '../../src/limits/budget-store';
import { gatewayLimitsOver } from '../../src/limits';
import { createCostEstimators } from '../../src/cost-estimators';
import { CachedField } from '../../src/cache/entry-codec';
import { L1Cache } from '../../src/cache/l1-cache';
import { RefundQueue } from '../../src/limits/refund-queue';

const config = loadConfig({});
const schema = buildAuthorizedSchema(loadTypeDefs(), {});
const limits = gatewayLimitsOver(config, new MemoryBudgetStore(), createCostEstimators(config));
const options = { limits: { rules: limits.rulesFor(schema), documentLimits: limits.documentLimits }, ttls: cacheTtlsOf(schema), cache: { keyPrefix: 'p:' } };
const viewer = (over: Partial<Viewer> = {}): Viewer => ({ orgId: 'org_a', orgName: 'A', role: 'VIEWER', projectIds: null, keyId: 'k', keyName: 'k', ...over });

function request(query: string, variables: Record<string, unknown> | undefined, v: Viewer, operationName?: string): CompileRequest {
  const document = parse(query);
  return { schema, document, operation: getOperationAST(document, operationName)!, queryHash: query, operationName, rawVariables: variables, viewer: v };
}

describe('compiled operations', () => {
  const q = 'query($n: Int) { traces(first: $n) { nodes { id } } viewer { role } }';

  it('compiles once per document, operation, coerced variables and viewer scope', () => {
    const ops = new CompiledOperations(100, options);
    const v = viewer();
    const first = ops.get(request(q, { n: 5 }, v))!;
    expect(first.pricing).toEqual({ price: expect.objectContaining({ cost: 1 + 5 + 1 }) });
    expect(first.cachePlan!.fields.map((f) => [f.responseKey, Boolean(f.cache)])).toEqual([
      ['traces', true],
      ['viewer', false],
    ]);
    expect(first.maxAge).toBe(0); // viewer is not cacheable
    expect(ops.get(request(q, { n: 5 }, v))).toBe(first);
    // The same viewer identity (another key of the org and role) shares the compiled operation.
    expect(ops.get(request(q, { n: 5 }, viewer({ keyId: 'other' })))).toBe(first);
    expect(ops.get(request(q, { n: 6 }, v))).not.toBe(first);
    expect(ops.get(request(q, { n: 5 }, viewer({ role: 'ADMIN' })))).not.toBe(first);
    expect(ops.get(request(q, { n: 5 }, viewer({ orgId: 'org_b' })))!.cachePlan!.fields[0]!.cache!.key).toContain(':org_b:');
    expect(ops.get(request(q, { n: 5 }, viewer({ projectIds: ['p1'] })))).not.toBe(first);
    expect({ hits: ops.hits, misses: ops.misses }).toEqual({ hits: 2, misses: 5 });
  });

  it('keys on coerced variables: defaults applied, raw spelling irrelevant; bad variables compile nothing', () => {
    const ops = new CompiledOperations(100, options);
    const d = 'query($n: Int = 7) { traces(first: $n) { nodes { id } } }';
    const a = ops.get(request(d, undefined, viewer()))!;
    expect(ops.get(request(d, { n: 7 }, viewer()))).toBe(a);
    expect(ops.get(request(q, { n: 'x' }, viewer()))).toBeNull();
  });

  it('stays within its bound, least recently used out first', () => {
    const ops = new CompiledOperations(3, options);
    const v = viewer();
    const one = ops.get(request(q, { n: 1 }, v));
    for (const n of [2, 3]) ops.get(request(q, { n }, v));
    expect(ops.get(request(q, { n: 1 }, v))).toBe(one); // refreshed
    ops.get(request(q, { n: 4 }, v)); // evicts n = 2
    expect(ops.size).toBe(3);
    expect(ops.get(request(q, { n: 1 }, v))).toBe(one);
    const misses = ops.misses;
    ops.get(request(q, { n: 2 }, v));
    expect(ops.misses).toBe(misses + 1);
  });

  it('keeps refusals with the operation: document limits and pricing errors', () => {
    const ops = new CompiledOperations(100, options);
    const deep = `{ ${'traces { nodes { session { '.repeat(6)} id ${'} } }'.repeat(6)} }`;
    expect(ops.get(request(deep, undefined, viewer()))!.verdict?.extensions.code).toBe('DEPTH_LIMIT_EXCEEDED');
    const page = ops.get(request('{ traces(first: 5000) { nodes { id } } }', undefined, viewer()))!;
    expect(page.pricing).toEqual({ error: expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', http: { status: 400 } }) }) });
  });

  it('narrows a document to the fields still to run, once per set', () => {
    const ops = new CompiledOperations(100, options);
    const c = ops.get(request('{ a: traces(first: 2) { nodes { id } } viewer { role } }', undefined, viewer()))!;
    const only = c.documentFor(new Set(['viewer']));
    expect(c.documentFor(new Set(['viewer']))).toBe(only);
    const op = getOperationAST(only)!;
    expect(op.selectionSet.selections.map((s) => (s.kind === 'Field' ? s.name.value : s.kind))).toEqual(['viewer']);
  });
});

describe('L1 copies', () => {
  const field = (size: number) => new CachedField('x'.repeat(size), 's', 0, 60);

  it('stays within its byte budget, least recently used out first, and never keeps a copy past its expiry', () => {
    let now = 1000;
    const l1 = new L1Cache(8000, () => now);
    for (const k of ['a', 'b', 'c', 'd']) l1.set(k, field(400), 5000); // ~1.7 KB each
    l1.get('a');
    l1.set('e', field(400), 5000); // past 8 KB: the least recently used (b) goes
    expect(l1.totalBytes).toBeLessThanOrEqual(8000);
    expect(['a', 'b', 'c', 'd', 'e'].map((k) => Boolean(l1.get(k)))).toEqual([true, false, true, true, true]);
    now = 5000;
    expect(l1.get('a')).toBeUndefined();
    l1.set('d', field(10), 4000); // already expired
    expect(l1.get('d')).toBeUndefined();
    l1.set('f', field(600), 9000); // bigger than a quarter of the budget
    expect(l1.get('f')).toBeUndefined();
  });

  it('refuses copies read before an invalidation', () => {
    const l1 = new L1Cache(100_000);
    const readEpoch = l1.epoch;
    l1.invalidate(['k']);
    l1.set('k', field(10), Date.now() + 1000, readEpoch);
    expect(l1.get('k')).toBeUndefined();
    l1.set('k', field(10), Date.now() + 1000);
    expect(l1.get('k')).toBeDefined();
    l1.invalidate(['k']);
    expect(l1.get('k')).toBeUndefined();
  });
});

describe('refund queue', () => {
  it('sends what one bucket gets back within the delay as one refund', async () => {
    const calls: Array<[string, number]> = [];
    const store = new MemoryBudgetStore();
    const spy = { ...store, mode: () => 'redis' as const, take: store.take.bind(store), refund: async (b: { key: string }, points: number) => (calls.push([b.key, points]), { remaining: 0, store: 'redis' as const }) };
    const q = new RefundQueue(spy, { delayMs: 5 });
    const a = { key: 'a', capacity: 100, perMinute: 60 };
    const b = { key: 'b', capacity: 100, perMinute: 60 };
    q.add(a, 3, 'redis');
    q.add(a, 4, 'redis');
    q.add(b, 1, 'redis');
    q.add(a, 0, 'redis');
    await new Promise((r) => setTimeout(r, 30));
    expect(calls.sort()).toEqual([
      ['a', 7],
      ['b', 1],
    ]);
  });
});
