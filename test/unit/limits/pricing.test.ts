import { buildSchema, parse } from 'graphql';
import { loadConfig } from '../../../src/config';
import { loadTypeDefs } from '../../../src/schema';
import { actualCost } from '../../../src/limits/actual-cost';
import { analyticsSettingsFrom, estimateAnalyticsWork } from '../../../src/query/analytics-work';
import { createCostEstimators } from '../../../src/cost-estimators';
import { CostRules, INTROSPECTION_COST } from '../../../src/limits/cost-rules';
import { priceOperation } from '../../../src/limits/pricing';

const settings = analyticsSettingsFrom(loadConfig({}));
const rules = new CostRules(buildSchema(loadTypeDefs()), createCostEstimators(loadConfig({})));
const price = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
  priceOperation(rules, { document: parse(query), variables, operationName });

describe('priceOperation', () => {
  it('prices a connection by its slicing argument over the sized fields only', () => {
    // traces 1 + nodes (first × (Trace 1 + input 2)) + pageInfo 1
    expect(price('{ traces(first: 10) { nodes { id input } pageInfo { hasNextPage } } }').cost).toBe(1 + 10 * 3 + 1);
    expect(price('{ traces(first: 100) { nodes { id } } }').cost).toBe(1 + 100);
    // the default of `first` (50) applies when it is not given
    expect(price('{ traces { nodes { id } } }').cost).toBe(1 + 50);
    // totalCount (a COUNT) is not multiplied
    expect(price('{ traces(first: 10) { totalCount } }').cost).toBe(1 + 20);
  });

  it('takes list sizes from variables, after they are applied', () => {
    const q = 'query($n: Int) { traces(first: $n) { nodes { id } } }';
    expect(price(q, { n: 5 }).cost).toBe(6);
    expect(price(q, { n: 500 }).cost).toBe(501);
  });

  it('bypass: an alias flood of an expensive field is priced per alias', () => {
    const one = price('{ searchTraces(query: "abc", first: 100) { nodes { id input } } }').cost;
    const many = price(`{ ${Array.from({ length: 20 }, (_, i) => `a${i}: searchTraces(query: "abc", first: 100) { nodes { id input } }`).join(' ')} }`);
    expect(many.cost).toBe(20 * one);
    expect(many.rootFieldCalls.searchTraces).toBe(20);
  });

  it('bypass: repeated fragment spreads are never priced below one copy, and fragment bombs are refused', () => {
    const frag = 'fragment F on Query { traces(first: 100) { nodes { id } } }';
    const once = price(`{ ...F } ${frag}`).cost;
    expect(price(`{ ...F ...F ...F } ${frag}`).cost).toBeGreaterThanOrEqual(once);
    expect(price(`{ ... on Query { traces(first: 100) { nodes { id } } } }`).cost).toBe(once);
    // 2^20 expansions of one field: the walk stops and the operation is refused, quickly
    const levels = Array.from({ length: 20 }, (_, i) => `fragment L${i} on Query { ...L${i + 1} ...L${i + 1} }`).join('\n');
    const started = Date.now();
    expect(() => price(`{ ...L0 } ${levels} fragment L20 on Query { viewer { role } }`)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'COST_LIMIT_EXCEEDED' }) }));
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('bypass: nested lists multiply', () => {
    const flat = price('{ traces(first: 100) { nodes { id } } }').cost;
    const nested = price('{ traces(first: 100) { nodes { id related { id children { id } } } } }').cost;
    // each of 100 traces: 10 related, each with 10 children
    expect(nested).toBe(1 + 100 * (1 + 10 * (1 + 10 * 1)));
    expect(nested).toBeGreaterThan(100 * flat);
    const sessions = price('{ sessions(first: 20) { nodes { id traces(first: 50) { nodes { id } } } } }').cost;
    expect(sessions).toBe(1 + 20 * (1 + 1 + 50));
  });

  it('bypass: @skip/@include with variables are evaluated with the variables', () => {
    const q = 'query($skip: Boolean!) { viewer { role } traces(first: 500) @skip(if: $skip) { nodes { id } } }';
    expect(price(q, { skip: true }).cost).toBe(1);
    expect(price(q, { skip: false }).cost).toBe(1 + 501);
    const inc = 'query($on: Boolean!) { viewer { role } ... @include(if: $on) { traces(first: 500) { nodes { id } } } }';
    expect(price(inc, { on: false }).cost).toBe(1);
    expect(price(inc, { on: true }).cost).toBe(502);
  });

  it('bypass: operationName picks the operation to price, never the cheap one or the sum', () => {
    const doc = 'query Cheap { viewer { role } } query Dear { traces(first: 1000) { nodes { id } } }';
    expect(price(doc, {}, 'Cheap').cost).toBe(1);
    expect(price(doc, {}, 'Dear').cost).toBe(1001);
    expect(() => price(doc)).toThrow(/operationName/);
  });

  it('prices introspection flat and __typename free', () => {
    expect(price('{ __schema { types { name fields { name type { name } } } } }').cost).toBe(INTROSPECTION_COST);
    expect(price('{ __typename viewer { __typename role } }').cost).toBe(1);
  });

  it('prices mutations with their @cost and knows rateLimit(dryRun)', () => {
    expect(price('mutation { exportTraces { id } }').cost).toBe(100 + 0);
    expect(price('{ rateLimit(dryRun: true) { requestedQueryCost } traces(first: 10) { nodes { id } } }').dryRun).toBe(true);
    expect(price('query($d: Boolean) { rateLimit(dryRun: $d) { requestedQueryCost } }', { d: false }).dryRun).toBe(false);
  });

  it('prices analytics by the work implied: range ÷ bucket × groups, cheaper from rollups', () => {
    const perf = (args: string) => price(`{ performance(${args}) { totals { requestCount } } }`).cost;
    const day = perf('range: {last: "24h"}, groupBy: [MODEL]');
    const month = perf('range: {last: "30d"}, groupBy: [MODEL]');
    const dayByUser = perf('range: {last: "24h"}, groupBy: [USER]');
    expect(month).toBeGreaterThan(day); // longer range, more buckets (but hour/day rollups, not 30× more)
    expect(month).toBeLessThan(30 * day);
    expect(dayByUser).toBeGreaterThan(day); // per-user rollups hold more rows per bucket, and more groups
    // USER groupings are priced from the per-user rollups, as the planner answers them; a filter
    // those rollups do not carry (model) sends the same grouping to raw rows, priced as such.
    const monthByUser = perf('range: {last: "30d"}, groupBy: [USER]');
    const monthByUserRaw = perf('range: {last: "30d"}, groupBy: [USER], filter: {models: ["gpt-4o"]}');
    expect(monthByUser).toBeLessThan(monthByUserRaw / 10);
    // a finer series: more points, and only minute rollups can serve it
    expect(perf('range: {last: "12h"}, interval: MINUTE')).toBeGreaterThan(perf('range: {last: "12h"}, interval: HOUR'));
    // an interval the resolver refuses (over MAX_SERIES_POINTS) is priced at the minimum: it never runs
    expect(perf('range: {last: "7d"}, interval: MINUTE')).toBe(1 + 1 + 1);
    // the pure estimate agrees with what the pricing added
    const w = estimateAnalyticsWork({ range: { last: '24h' }, groupBy: ['MODEL'], percentiles: true }, settings);
    expect(w.sources.some((s) => s.source === 'traces_1hour')).toBe(true);
    expect(day).toBeGreaterThanOrEqual(w.points);
  });
});

describe('actualCost (the refund basis)', () => {
  it('charges the rows really returned, the same rules as the estimate', () => {
    const p = price('{ traces(first: 100) { nodes { id related { id } } } }');
    expect(p.cost).toBe(1 + 100 * (1 + 10));
    const data = { traces: { nodes: [{ id: 'a', related: [{ id: 'a' }, { id: 'b' }] }, { id: 'b', related: [] }] } };
    const actual = actualCost(rules, { ...p, variables: p.variables!, data });
    expect(actual).toBe(1 + (1 + 2) + (1 + 0));
    expect(p.cost - actual).toBe(1101 - 5);
  });

  it('charges cached root fields one point and errored ones only their weight', () => {
    const p = price('{ a: traces(first: 10) { nodes { id } } b: trace(id: "x") { id related { id } } }');
    const data = { a: { nodes: [{ id: '1' }] }, b: null };
    expect(actualCost(rules, { ...p, variables: p.variables!, data })).toBe(1 + 1 + 1);
    expect(actualCost(rules, { ...p, variables: p.variables!, data, cachedRootKeys: new Set(['a']) })).toBe(1 + 1);
  });

  it('walks the same compiled price again with other data: the memo of the first walk never leaks its values', () => {
    const p = price('query R($n: Int!) { traces(first: $n) { nodes { id related { id } } } performance(range: {last: "24h"}, groupBy: [MODEL]) { groups { key { model } } } }', { n: 50 });
    const fresh = (data: Record<string, unknown>) => actualCost(rules, { ...p, variables: { ...p.variables! }, data });
    const reused = (data: Record<string, unknown>) => actualCost(rules, { ...p, variables: p.variables!, data });
    const answers = [
      { traces: { nodes: [{ id: 'a', related: [{ id: 'x' }] }] }, performance: { groups: [{ key: { model: 'm' } }] } },
      { traces: { nodes: [] }, performance: null },
      { traces: { nodes: [{ id: 'a', related: [] }, { id: 'b', related: [{ id: 'c' }, { id: 'd' }, { id: 'e' }] }] }, performance: { groups: [] } },
      { traces: null, performance: { groups: [{ key: { model: 'm' } }, { key: { model: 'n' } }] } },
    ];
    const first = answers.map(reused);
    // Every answer priced again through the memo, in another order, equals a walk without one.
    expect([...answers].reverse().map(reused)).toEqual(answers.map(fresh).reverse());
    expect(first).toEqual(answers.map(fresh));
    expect(new Set(first).size).toBeGreaterThan(2);
  });

  it('prices backward pages by last, and a percentile group order on costs like selected percentiles (the exact re-scan)', () => {
    expect(price('{ traces(last: 10) { nodes { id } } }').cost).toBe(1 + 10);
    expect(() => price('{ traces(last: 0) { nodes { id } } }')).toThrow(/last must be between 1 and 1000/);
    const base = '{ costs(range: {last: "3h"}, groupBy: [MODEL]ORDER) { totals { totalUsd } } }';
    const plain = price(base.replace('ORDER', '')).cost;
    expect(price(base.replace('ORDER', ', groupOrder: {field: COST}')).cost).toBe(plain);
    expect(price(base.replace('ORDER', ', groupOrder: {field: P95_LATENCY}')).cost).toBeGreaterThan(plain);
  });
});
