import path from 'node:path';
import { parse } from 'graphql';
import { parsePolicy, parseRateLimit } from '../../playground/src/rate-limit-headers';
import { BASELINE_QUERY, PRICE_ALIAS, baselineCost, priceVerdict, pricingRequest } from '../../playground/src/pricing';
import { runReport } from '../../playground/src/run-report';
import { loadExampleTabs } from '../../playground/build/examples';
import { rateLimitHeaders, throttleStatusOf } from '../../src/limits/rate-limit-headers';

const headersOf = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

describe('RateLimit headers, read tolerantly', () => {
  it('reads what the gateway sends today (draft-07)', () => {
    const sent = rateLimitHeaders(throttleStatusOf(1200, 1000, 1196), 1000);
    const r = parseRateLimit(sent['ratelimit-policy']!, sent.ratelimit!);
    // Whatever form the server sends (issue 10 moves it to draft-10), these read back.
    expect(r).toMatchObject({ policy: { quota: 1000, windowSeconds: 60 }, remaining: 1196 });
    expect(parseRateLimit('1000;w=60;burst=1200', 'limit=1200, remaining=1196, reset=1')).toMatchObject({ policy: { quota: 1000, windowSeconds: 60, burst: 1200 }, limit: 1200, remaining: 1196, resetSeconds: 1 });
  });

  it('reads the IETF draft-10 structured form', () => {
    const r = parseRateLimit('"default";q=1000;w=60', '"default";r=250;t=30');
    expect(r).toMatchObject({ policy: { name: 'default', quota: 1000, windowSeconds: 60 }, limit: 1000, remaining: 250, resetSeconds: 30 });
    expect(parsePolicy('"burst";q=100;w=1, "day";q=1000;w=86400')).toMatchObject({ name: 'burst', quota: 100, windowSeconds: 1 });
    expect(parsePolicy('"a,b";q=5')).toMatchObject({ name: 'a,b', quota: 5 });
  });

  it('keeps what it cannot read, raw', () => {
    const r = parseRateLimit('???', 'garbage');
    expect(r.raw).toEqual({ policy: '???', rateLimit: 'garbage' });
    expect(r.remaining).toBeUndefined();
    expect(parseRateLimit(null, null)).toEqual({ policy: undefined, raw: { policy: null, rateLimit: null } });
  });
});

describe('pricing before running', () => {
  it('adds one aliased dry-run field to the chosen query, keeping fragments and variables', () => {
    const src = 'query A($n: Int) { traces(first: $n) { nodes { ...F } } }\nquery B { viewer { orgId } }\nfragment F on Trace { id }';
    const r = pricingRequest(src, 'A');
    expect(r.kind).toBe('price');
    if (r.kind !== 'price') return;
    expect(r.operationName).toBe('A');
    const doc = parse(r.query);
    const a = doc.definitions.find((d: any) => d.name?.value === 'A') as any;
    expect(a.selectionSet.selections[0].alias.value).toBe(PRICE_ALIAS);
    expect(a.selectionSet.selections[0].arguments[0]).toMatchObject({ name: { value: 'dryRun' }, value: { value: true } });
    expect((doc.definitions.find((d: any) => d.name?.value === 'B') as any).selectionSet.selections).toHaveLength(1);
    expect(doc.definitions).toHaveLength(3);
  });

  it('says why nothing is priced', () => {
    expect(pricingRequest('   ')).toMatchObject({ kind: 'skip' });
    expect(pricingRequest('{ traces(')).toMatchObject({ kind: 'skip', reason: expect.stringContaining('does not parse') });
    expect(pricingRequest('query A { viewer { orgId } } query B { viewer { role } }')).toMatchObject({ kind: 'skip', reason: expect.stringContaining('Several operations') });
    expect(pricingRequest('mutation { purgeCache { deleted } }')).toMatchObject({ kind: 'skip', reason: expect.stringContaining('mutation is not priced') });
    expect(pricingRequest('fragment F on Trace { id }')).toMatchObject({ kind: 'skip' });
  });

  const info = (requestedQueryCost: number, currentlyAvailable = 1200, maxCostPerOperation = 1200) => ({
    data: { [PRICE_ALIAS]: { requestedQueryCost, currentlyAvailable, maximumAvailable: 1200, maxCostPerOperation, restoreRate: 16.667 } },
  });

  it('subtracts the price of its own field and compares with the budget and the per-operation maximum', () => {
    expect(baselineCost(info(1))).toBe(1);
    expect(BASELINE_QUERY).toContain(`${PRICE_ALIAS}: rateLimit(dryRun: true)`);
    expect(priceVerdict(info(42), 1)).toMatchObject({ kind: 'ok', cost: 41, available: 1200 });
    expect(priceVerdict(info(501, 300), 1)).toMatchObject({ kind: 'refused', code: 'RATE_LIMITED', cost: 500, available: 300, retryAfterSeconds: 12 });
    expect(priceVerdict(info(1302, 1200), 1)).toMatchObject({ kind: 'refused', code: 'COST_LIMIT_EXCEEDED', cost: 1301 });
  });

  it('reads refusals the gateway reports as errors', () => {
    const overMax = { errors: [{ message: 'costs', extensions: { code: 'COST_LIMIT_EXCEEDED', cost: 22003, limit: 12000 } }] };
    expect(priceVerdict(overMax, 1)).toMatchObject({ kind: 'refused', code: 'COST_LIMIT_EXCEEDED', cost: 22002, message: expect.stringContaining('at most 12000') });
    // Only the added point tipped it over: the operation itself fits.
    const edge = { errors: [{ message: 'costs', extensions: { code: 'COST_LIMIT_EXCEEDED', cost: 12001, limit: 12000 } }] };
    expect(priceVerdict(edge, 1)).toMatchObject({ kind: 'ok', cost: 12000 });
    const deep = { errors: [{ message: 'too deep', extensions: { code: 'DEPTH_LIMIT_EXCEEDED', limit: 15 } }] };
    expect(priceVerdict(deep, 1)).toMatchObject({ kind: 'refused', code: 'DEPTH_LIMIT_EXCEEDED' });
    expect(priceVerdict({ errors: [{ message: 'Cannot query field "nope"', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] }, 1)).toMatchObject({ kind: 'invalid' });
    expect(priceVerdict({ errors: [{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }] }, 1)).toMatchObject({ kind: 'unauthenticated' });
  });
});

describe('run report', () => {
  it('collects cost, RateLimit headers, cache hits and plans (through aliases and lists)', () => {
    const body = {
      data: {
        p: { plan: { percentiles: 'EXACT', sources: [{ source: 'traces_1hour', from: '2026-11-26T10:00:00.000Z', to: '2026-11-26T12:00:00.000Z' }] }, totals: {}, groups: [] },
        costs: { totals: { totalUsd: 1 }, groups: [] },
        viewer: { orgId: 'o' },
      },
      extensions: {
        cost: { requestedQueryCost: 51, actualQueryCost: 4, throttleStatus: { maximumAvailable: 1200, currentlyAvailable: 1196, restoreRate: 16.667 } },
        cache: { p: { hit: true, ageSeconds: 4.2, ttlSeconds: 60 }, costs: { hit: false, ageSeconds: 0, ttlSeconds: 60 }, viewer: { hit: false, ageSeconds: 0, ttlSeconds: 0 } },
      },
    };
    const r = runReport(200, headersOf({ 'ratelimit-policy': '1000;w=60;burst=1200', ratelimit: 'limit=1200, remaining=1196, reset=1' }), body, 12);
    expect(r.cost?.actualQueryCost).toBe(4);
    expect(r.rateLimit.remaining).toBe(1196);
    expect(r.cache.filter((c) => c.hit).map((c) => c.field)).toEqual(['p']);
    expect(r.plans).toEqual([{ path: 'p.plan', percentiles: 'EXACT', sources: [{ source: 'traces_1hour', from: '2026-11-26T10:00:00.000Z', to: '2026-11-26T12:00:00.000Z' }] }]);
    expect(r.analyticsWithoutPlan).toEqual(['costs']);
    expect(r.errorCodes).toEqual([]);
  });

  it('reports refusals: codes, Retry-After, an answer served from cache', () => {
    const r = runReport(429, headersOf({ 'retry-after': '3', 'x-served-from-cache': 'true' }), { errors: [{ message: 'x', extensions: { code: 'RATE_LIMITED' } }] }, 5);
    expect(r).toMatchObject({ status: 429, retryAfterSeconds: 3, servedFromCache: true, errorCodes: ['RATE_LIMITED'], plans: [], cache: [] });
  });
});

describe('example tabs (built from examples/operations)', () => {
  const tabs = loadExampleTabs(path.resolve(__dirname, '../../examples/operations'));

  it('one tab per operation, with the fragments it uses, its variables, and plan on analytics fields', () => {
    expect(tabs.map((t) => t.title)).toEqual(['DashboardPerformance', 'DashboardSpend', 'DashboardPickers', 'RecentTraces', 'TraceDetail']);
    const perf = tabs[0]!;
    const doc = parse(perf.query);
    expect(doc.definitions.map((d: any) => d.name.value)).toEqual(['DashboardPerformance', 'LatencyFields']);
    expect(perf.query).toContain('plan {');
    const detail = tabs.find((t) => t.title === 'TraceDetail')!;
    expect(JSON.parse(detail.variables)).toEqual({ id: '<the id of a row from RecentTraces>' });
    expect(parse(detail.query).definitions.map((d: any) => d.name.value)).toEqual(['TraceDetail', 'TraceSummary']);
    expect(tabs.find((t) => t.title === 'RecentTraces')!.query).not.toContain('plan {');
  });
});
